{#-
    One row per user, business day and L2 category (with its L1) the user interacted with:
    product events (view, click, add_to_cart, favorite) and paid order lines, with the price
    percentile within the category of what was viewed and bought (int_product_daily of that day).
    Incremental per landed day like int_user_daily; category shares, price level and price
    sensitivity are summed from here. Products unknown to the catalog that day are left out.
-#}

with product_events as (
    select user_id, event_date as activity_date, event_type, product_id
    from {{ ref('stg_events') }}
    where {{ in_partition_window() }}
        and product_id is not null
        and event_type in ('view', 'click', 'add_to_cart', 'favorite')
),

paid_lines as (
    select * from {{ ref('int_paid_order_lines') }}
),

products as (
    select * from {{ ref('int_product_daily') }}
    where {{ in_partition_window('activity_date') }}
),

event_rows as (
    select
        product_events.user_id,
        product_events.activity_date,
        products.category_l1,
        products.category_l2,
        case when product_events.event_type = 'view' then 1 else 0 end as views,
        case when product_events.event_type = 'click' then 1 else 0 end as clicks,
        case when product_events.event_type = 'add_to_cart' then 1 else 0 end as carts,
        case when product_events.event_type = 'favorite' then 1 else 0 end as favorites,
        case when product_events.event_type = 'view' then products.price_percentile else 0 end
            as viewed_price_percentile_sum,
        0 as purchase_lines,
        0 as purchased_units,
        0 as purchased_amount,
        0 as purchased_price_percentile_sum
    from product_events
    inner join products
        on product_events.product_id = products.product_id
        and product_events.activity_date = products.activity_date
),

purchase_rows as (
    select
        paid_lines.user_id,
        paid_lines.activity_date,
        products.category_l1,
        products.category_l2,
        0 as views,
        0 as clicks,
        0 as carts,
        0 as favorites,
        0 as viewed_price_percentile_sum,
        1 as purchase_lines,
        paid_lines.quantity as purchased_units,
        paid_lines.line_amount as purchased_amount,
        products.price_percentile as purchased_price_percentile_sum
    from paid_lines
    inner join products
        on paid_lines.product_id = products.product_id
        and paid_lines.activity_date = products.activity_date
),

interactions as (
    select * from event_rows
    union all
    select * from purchase_rows
),

rollup as (
    select
        user_id,
        activity_date,
        category_l1,
        category_l2,
        {{ summed_counts(['views', 'clicks', 'carts', 'favorites']) }},
        cast(sum(viewed_price_percentile_sum) as decimal(18, 6)) as viewed_price_percentile_sum,
        {{ summed_counts(['purchase_lines', 'purchased_units']) }},
        {{ to_money('sum(purchased_amount)') }} as purchased_amount,
        cast(sum(purchased_price_percentile_sum) as decimal(18, 6)) as purchased_price_percentile_sum
    from interactions
    group by user_id, activity_date, category_l1, category_l2
)

select * from rollup
