{#- Quarantined events: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_events__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    event_id,
    user_id,
    session_id,
    event_type,
    product_id,
    search_query,
    platform,
    occurred_at
from rejected
