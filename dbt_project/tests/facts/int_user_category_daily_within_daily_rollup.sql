{#-
    The category rollup neither invents nor double-counts events: per user and day of the window,
    its views, clicks, carts and favourites add up to at most those of int_user_daily (less only
    by events on products unknown to the catalog that day).
-#}
{{ config(meta={'dagster': {'ref': {'name': 'int_user_category_daily'}}}) }}

with by_category as (
    select
        user_id,
        activity_date,
        sum(views) as views,
        sum(clicks) as clicks,
        sum(carts) as carts,
        sum(favorites) as favorites
    from {{ ref('int_user_category_daily') }}
    where {{ in_partition_window('activity_date') }}
    group by user_id, activity_date
),

daily as (
    select user_id, activity_date, views, clicks, carts, favorites
    from {{ ref('int_user_daily') }}
    where {{ in_partition_window('activity_date') }}
)

select by_category.*
from by_category
left join daily
    on by_category.user_id = daily.user_id
    and by_category.activity_date = daily.activity_date
where daily.user_id is null
    or by_category.views > daily.views
    or by_category.clicks > daily.clicks
    or by_category.carts > daily.carts
    or by_category.favorites > daily.favorites
