{#-
    One row per campaign × assigned user (treatment or control) with what happened after the
    assignment: opens and clicks (treatment only; control users are assigned, never messaged) and
    the attributed conversion — at least one *paid* order placed after the first touch and at most
    attribution_window_days days later (sent_at < ordered_at <= sent_at + N days). Each campaign is
    attributed on its own: an order inside two campaigns' windows counts for both, as it does for
    their control groups, so each A/B comparison stays fair.

    Nothing after the as-of day is read: touches after it are left out and a window that has not
    closed by then is marked window_complete = false.
-#}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

touches as (
    select sends.*
    from {{ ref('stg_campaign_sends') }} as sends
    cross join as_of
    where sends.send_date <= as_of.as_of_date
),

-- A user reached twice by one campaign stays one assignment: arm and window from the first touch.
first_touches as (
    select
        campaign_id,
        user_id,
        variant,
        is_treatment,
        sent_at_utc,
        send_date,
        row_number() over (partition by campaign_id, user_id order by sent_at_utc, send_id) as touch_number
    from touches
),

touch_counts as (
    select
        campaign_id,
        user_id,
        count(case when is_treatment then 1 end) as messages_sent,
        count(case when is_treatment and was_opened then 1 end) > 0 as opened,
        count(case when is_treatment and was_clicked then 1 end) > 0 as clicked
    from touches
    group by campaign_id, user_id
),

assignments as (
    select
        first_touches.campaign_id,
        first_touches.user_id,
        first_touches.variant,
        first_touches.is_treatment,
        first_touches.sent_at_utc,
        first_touches.send_date,
        {{ dbt.dateadd('day', attribution_window_days(), 'first_touches.sent_at_utc') }} as window_end_at_utc,
        touch_counts.messages_sent,
        touch_counts.opened,
        touch_counts.clicked
    from first_touches
    inner join touch_counts
        on first_touches.campaign_id = touch_counts.campaign_id
        and first_touches.user_id = touch_counts.user_id
    where first_touches.touch_number = 1
),

paid_orders as (
    select orders.user_id, orders.order_id, orders.ordered_at_utc, orders.paid_amount
    from {{ ref('stg_orders') }} as orders
    cross join as_of
    where orders.status = 'paid'
        and orders.order_date <= as_of.as_of_date
),

attributed as (
    select
        assignments.campaign_id,
        assignments.user_id,
        count(paid_orders.order_id) as conversion_orders,
        sum(paid_orders.paid_amount) as attributed_revenue,
        min(paid_orders.ordered_at_utc) as first_conversion_at_utc
    from assignments
    inner join paid_orders
        on assignments.user_id = paid_orders.user_id
        and paid_orders.ordered_at_utc > assignments.sent_at_utc
        and paid_orders.ordered_at_utc <= assignments.window_end_at_utc
    group by assignments.campaign_id, assignments.user_id
),

-- Purchase stage on the send day, from paid orders before that day (pre-treatment).
orders_before_send as (
    select
        assignments.campaign_id,
        assignments.user_id,
        max(daily.activity_date) as last_order_date
    from assignments
    inner join {{ ref('int_user_daily') }} as daily
        on assignments.user_id = daily.user_id
        and daily.activity_date < assignments.send_date
    where daily.orders > 0
    group by assignments.campaign_id, assignments.user_id
),

registrations as (
    select user_id, registered_date
    from {{ ref('stg_users') }}
),

final as (
    select
        assignments.campaign_id,
        assignments.user_id,
        assignments.variant,
        assignments.is_treatment,
        assignments.sent_at_utc,
        assignments.send_date,
        assignments.window_end_at_utc,
        {{ business_date('assignments.window_end_at_utc') }} <= as_of.as_of_date as window_complete,
        cast(assignments.messages_sent as bigint) as messages_sent,
        assignments.opened,
        assignments.clicked,
        {{ marketing_stage_at_send(
            'orders_before_send.last_order_date', 'registrations.registered_date', 'assignments.send_date'
        ) }} as stage_at_send,
        attributed.user_id is not null as converted,
        cast(coalesce(attributed.conversion_orders, 0) as bigint) as conversion_orders,
        {{ to_money('coalesce(attributed.attributed_revenue, 0)') }} as attributed_revenue,
        attributed.first_conversion_at_utc,
        as_of.as_of_date as as_of
    from assignments
    cross join as_of
    left join attributed
        on assignments.campaign_id = attributed.campaign_id
        and assignments.user_id = attributed.user_id
    left join orders_before_send
        on assignments.campaign_id = orders_before_send.campaign_id
        and assignments.user_id = orders_before_send.user_id
    left join registrations on assignments.user_id = registrations.user_id
)

select * from final
