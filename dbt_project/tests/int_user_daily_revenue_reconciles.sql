{#-
    Revenue and paid orders per day in the window are the same in the daily rollup as in
    stg_orders: the rollup neither drops nor double-counts an order.
-#}

{{ config(meta={'dagster': {'ref': {'name': 'int_user_daily'}}}) }}

with staged as (
    select order_date as activity_date, count(*) as orders, sum(paid_amount) as revenue
    from {{ ref('stg_orders') }}
    where status = 'paid' and {{ in_partition_window() }}
    group by order_date
),

rolled_up as (
    select activity_date, sum(orders) as orders, sum(revenue) as revenue
    from {{ ref('int_user_daily') }}
    where {{ in_partition_window('activity_date') }}
    group by activity_date
),

compared as (
    select
        coalesce(staged.activity_date, rolled_up.activity_date) as activity_date,
        coalesce(staged.orders, 0) as staged_orders,
        coalesce(rolled_up.orders, 0) as rolled_up_orders,
        coalesce(staged.revenue, 0) as staged_revenue,
        coalesce(rolled_up.revenue, 0) as rolled_up_revenue
    from staged
    full outer join rolled_up on staged.activity_date = rolled_up.activity_date
)

select * from compared
where staged_orders <> rolled_up_orders or staged_revenue <> rolled_up_revenue
