{#- Quarantined orders: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_orders__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    order_id,
    user_id,
    ordered_at,
    status,
    platform,
    coupon_id,
    gross_amount,
    discount_amount,
    paid_amount
from rejected
