{{ config(meta={'dagster': {'ref': {'name': 'int_user_product_daily'}}}) }}
{#-
    Paid units per user and day in the window are the same in the product rollup as in
    int_user_daily: no order line is dropped or double-counted by the per-product split.
-#}

with by_product as (
    select user_id, activity_date, sum(purchased_units) as units
    from {{ ref('int_user_product_daily') }}
    where {{ in_partition_window('activity_date') }}
    group by user_id, activity_date
),

daily as (
    select user_id, activity_date, items as units
    from {{ ref('int_user_daily') }}
    where {{ in_partition_window('activity_date') }} and items > 0
),

compared as (
    select
        coalesce(by_product.user_id, daily.user_id) as user_id,
        coalesce(by_product.activity_date, daily.activity_date) as activity_date,
        coalesce(by_product.units, 0) as product_units,
        coalesce(daily.units, 0) as daily_units
    from by_product
    full outer join daily
        on by_product.user_id = daily.user_id and by_product.activity_date = daily.activity_date
)

select * from compared
where product_units <> daily_units
