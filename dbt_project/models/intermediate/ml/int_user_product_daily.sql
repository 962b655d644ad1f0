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
        case when event_type = 'view' then 1 else 0 end as views,
        case when event_type = 'click' then 1 else 0 end as clicks,
        case when event_type = 'favorite' then 1 else 0 end as favorites,
        case when event_type = 'add_to_cart' then 1 else 0 end as carts,
        0 as purchased_units,
        0 as purchased_amount
    from {{ ref('stg_events') }}
    where {{ in_partition_window() }}
        and product_id is not null
        and event_type in ('view', 'click', 'favorite', 'add_to_cart')
),

paid_lines as (
    select
        user_id,
        activity_date,
        product_id,
        0 as views,
        0 as clicks,
        0 as favorites,
        0 as carts,
        quantity as purchased_units,
        line_amount as purchased_amount
    from {{ ref('int_paid_order_lines') }}
),

-- Events and order lines summed in one aggregation: one pass over the events, no join back.
user_product_days as (
    select
        user_id,
        activity_date,
        product_id,
        {{ summed_counts(['views', 'clicks', 'favorites', 'carts', 'purchased_units']) }},
        {{ to_money('sum(purchased_amount)') }} as purchased_amount
    from (
        select * from product_events
        union all
        select * from paid_lines
    ) as interactions
    group by user_id, activity_date, product_id
),

-- coalesce rather than `valid_to_date is null or …`: an OR in a join condition forces a
-- nested-loop join over every row (minutes at 100k users); this one is a hash join on product_id.
rollup as (
    select
        user_product_days.user_id,
        user_product_days.activity_date,
        user_product_days.product_id,
        versions.category_l1,
        versions.category_l2,
        versions.list_price,
        user_product_days.views,
        user_product_days.clicks,
        user_product_days.favorites,
        user_product_days.carts,
        user_product_days.purchased_units,
        user_product_days.purchased_amount
    from user_product_days
    left join {{ ref('stg_products_versions') }} as versions
        on user_product_days.product_id = versions.product_id
        and versions.valid_from_date <= user_product_days.activity_date
        and coalesce(versions.valid_to_date, cast('9999-12-31' as date)) > user_product_days.activity_date
)

select * from rollup
