{{ config(materialized='ephemeral') }}
{#-
    The paid order lines of the run's window: who bought which product on which business day, how
    many and for how much. Ephemeral: each daily rollup that reads it (user, brand, category,
    product) gets it inlined as a CTE, so it has no table of its own.
-#}

with paid_orders as (
    select order_id, user_id, order_date
    from {{ ref('stg_orders') }}
    where {{ in_partition_window() }}
        and status = 'paid'
)

select
    paid_orders.user_id,
    paid_orders.order_date as activity_date,
    items.product_id,
    items.quantity,
    items.line_amount
from {{ ref('stg_order_items') }} as items
inner join paid_orders on items.order_id = paid_orders.order_id
where {{ in_partition_window('items._partition_date') }}
