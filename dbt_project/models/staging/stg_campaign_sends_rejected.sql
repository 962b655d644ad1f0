{#- Quarantined campaign touches: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_campaign_sends__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    send_id,
    campaign_id,
    user_id,
    variant,
    sent_at,
    opened_at,
    clicked_at
from rejected
