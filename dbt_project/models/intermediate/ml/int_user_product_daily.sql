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
    One row per user, product and business day with a clean product event or a paid order line:
    the behaviour the category mix, the price level and the recommendations are computed from.
    Incremental per landed day like int_user_daily. The category and list price are those of the
    product version valid on that day, so a later price change never rewrites history.
-#}

with product_events as (
    select
        user_id,
        event_date as activity_date,
        product_id,
        count(case when event_type = 'view' then 1 end) as views,
        count(case when event_type = 'click' then 1 end) as clicks,
        count(case when event_type = 'favorite' then 1 end) as favorites,
        count(case when event_type = 'add_to_cart' then 1 end) as carts
    from {{ ref('stg_events') }}
    where {{ in_partition_window() }}
        and product_id is not null
        and event_type in ('view', 'click', 'favorite', 'add_to_cart')
    group by user_id, event_date, product_id
),

paid_orders as (
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
        sum(items.quantity) as purchased_units,
        sum(items.line_amount) as purchased_amount
    from {{ ref('stg_order_items') }} as items
    inner join paid_orders on items.order_id = paid_orders.order_id
    where {{ in_partition_window('items._partition_date') }}
    group by paid_orders.user_id, paid_orders.order_date, items.product_id
),

user_product_days as (
    select user_id, activity_date, product_id from product_events
    union
    select user_id, activity_date, product_id from paid_lines
),

versions_by_day as (
    select
        user_product_days.user_id,
        user_product_days.activity_date,
        user_product_days.product_id,
        versions.category_l1,
        versions.category_l2,
        versions.list_price
    from user_product_days
    left join {{ ref('stg_products__versions') }} as versions
        on user_product_days.product_id = versions.product_id
        and versions.valid_from_date <= user_product_days.activity_date
        and (versions.valid_to_date is null or versions.valid_to_date > user_product_days.activity_date)
),

rollup as (
    select
        versions_by_day.user_id,
        versions_by_day.activity_date,
        versions_by_day.product_id,
        versions_by_day.category_l1,
        versions_by_day.category_l2,
        versions_by_day.list_price,
        coalesce(product_events.views, 0) as views,
        coalesce(product_events.clicks, 0) as clicks,
        coalesce(product_events.favorites, 0) as favorites,
        coalesce(product_events.carts, 0) as carts,
        cast(coalesce(paid_lines.purchased_units, 0) as bigint) as purchased_units,
        {{ to_money('coalesce(paid_lines.purchased_amount, 0)') }} as purchased_amount
    from versions_by_day
    left join product_events
        on versions_by_day.user_id = product_events.user_id
        and versions_by_day.activity_date = product_events.activity_date
        and versions_by_day.product_id = product_events.product_id
    left join paid_lines
        on versions_by_day.user_id = paid_lines.user_id
        and versions_by_day.activity_date = paid_lines.activity_date
        and versions_by_day.product_id = paid_lines.product_id
)

select * from rollup
