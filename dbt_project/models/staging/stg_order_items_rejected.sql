{#- Quarantined order lines: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_order_items__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    order_id,
    product_id,
    quantity,
    unit_price,
    ordered_at
from rejected
