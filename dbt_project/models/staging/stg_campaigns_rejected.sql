{#- Quarantined campaign versions: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_campaigns__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    campaign_id,
    name,
    channel,
    objective,
    starts_at,
    ends_at,
    cost_per_send
from rejected
