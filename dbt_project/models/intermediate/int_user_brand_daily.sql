{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('activity_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window('activity_date') }}",
    )
}}
{#-
    One row per user, business day and brand bought: paid order lines and their amount, with the
    brand of the product version valid that day (int_product_daily). Incremental per landed day;
    brand concentration and the top brand are summed from here. Lines of products without a
    brand or unknown to the catalog that day are left out.
-#}

with paid_orders as (
    select order_id, user_id, order_date
    from {{ ref('stg_orders') }}
    where {{ in_partition_window() }}
        and status = 'paid'
),

paid_lines as (
    select
        paid_orders.user_id,
        paid_orders.order_date as activity_date,
        items.product_id,
        items.quantity,
        items.line_amount
    from {{ ref('stg_order_items') }} as items
    inner join paid_orders on items.order_id = paid_orders.order_id
    where {{ in_partition_window('items._partition_date') }}
),

products as (
    select * from {{ ref('int_product_daily') }}
    where {{ in_partition_window('activity_date') }}
        and brand is not null
),

rollup as (
    select
        paid_lines.user_id,
        paid_lines.activity_date,
        products.brand,
        count(*) as purchase_lines,
        cast(sum(paid_lines.quantity) as bigint) as purchased_units,
        {{ to_money('sum(paid_lines.line_amount)') }} as purchased_amount
    from paid_lines
    inner join products
        on paid_lines.product_id = products.product_id
        and paid_lines.activity_date = products.activity_date
    group by paid_lines.user_id, paid_lines.activity_date, products.brand
)

select * from rollup
