{#-
    One row per product per business day of the window on which anything was viewed or ordered:
    the catalog version valid that day and where its list price sits within its L2 category
    (0 = the cheapest product of the category that day, 1 = the dearest; a decimal, so that the
    rollups' sums are exact and do not depend on the order they are added in). Price-aware user
    rollups join this on (product_id, day), so a later price change or launch never rewrites a
    past day's percentile — a day's rows depend only on the versions valid that day.
-#}

with activity_days as (
    select distinct event_date as activity_date
    from {{ ref('stg_events') }}
    where {{ in_partition_window() }}
    union
    select distinct order_date as activity_date
    from {{ ref('stg_orders') }}
    where {{ in_partition_window() }}
),

versions_valid_on_day as (
    select
        activity_days.activity_date,
        versions.product_id,
        versions.category_l1,
        versions.category_l2,
        versions.brand,
        versions.list_price
    from activity_days
    inner join {{ ref('stg_products_versions') }} as versions
        on {{ version_valid_on('versions', 'activity_days.activity_date') }}
    where versions.category_l1 is not null
        and versions.category_l2 is not null
),

ranked as (
    select
        activity_date,
        product_id,
        category_l1,
        category_l2,
        brand,
        list_price,
        cast(percent_rank() over (
            partition by activity_date, category_l1, category_l2
            order by list_price
        ) as decimal(9, 6)) as price_percentile
    from versions_valid_on_day
)

select * from ranked
