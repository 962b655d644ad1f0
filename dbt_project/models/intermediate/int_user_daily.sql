{#-
    One row per user per business day with any clean event, order, campaign touch or review.
    Every source row is counted on the local day of its partition timestamp, which staging
    guarantees is its landing partition — so the run's window of activity days is rebuilt from
    exactly the window's partitions. Campaign opens/clicks count on the day of the send. A session
    that crosses midnight counts as a session on each of its days (as in `sessions`).
-#}

with events as (
    select * from {{ ref('stg_events') }}
    where {{ in_partition_window() }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    where {{ in_partition_window() }}
),

paid_order_items as (
    select user_id, activity_date as order_date, product_id, quantity
    from {{ ref('int_paid_order_lines') }}
),

sends as (
    select * from {{ ref('stg_campaign_sends') }}
    where {{ in_partition_window() }}
),

reviews as (
    select * from {{ ref('stg_reviews') }}
    where {{ in_partition_window() }}
),

-- One row per session and day: did it put something in the cart, did it end in a purchase?
session_outcomes as (
    select
        user_id,
        session_id,
        event_date as activity_date,
        count(case when event_type = 'add_to_cart' then 1 end) > 0 as has_cart,
        count(case when event_type = 'purchase' then 1 end) > 0 as has_purchase
    from events
    group by user_id, session_id, event_date
),

session_counts as (
    select
        user_id,
        activity_date,
        count(case when has_cart then 1 end) as sessions_carted,
        count(case when has_cart and not has_purchase then 1 end) as sessions_abandoned
    from session_outcomes
    group by user_id, activity_date
),

event_counts as (
    select
        user_id,
        event_date as activity_date,
        count(*) as events,
        count(case when event_type = 'view' then 1 end) as views,
        count(case when event_type = 'search' then 1 end) as searches,
        count(case when event_type = 'click' then 1 end) as clicks,
        count(case when event_type = 'add_to_cart' then 1 end) as carts,
        count(case when event_type = 'favorite' then 1 end) as favorites,
        count(case when event_type = 'purchase' then 1 end) as purchase_events,
        count(distinct session_id) as sessions,
        {%- for slot in hour_slots() %}
        count(case when hour_slot = '{{ slot.name }}' then 1 end) as events_{{ slot.name }},
        {%- endfor %}
        {%- for platform in accepted_codes('platform') %}
        count(case when platform = '{{ platform }}' then 1 end) as events_{{ platform }}{{ ',' if not loop.last }}
        {%- endfor %}
    from events
    group by user_id, event_date
),

order_counts as (
    select
        user_id,
        order_date as activity_date,
        count(case when status = 'paid' then 1 end) as orders,
        count(case when status = 'cancelled' then 1 end) as orders_cancelled,
        count(case when status = 'refunded' then 1 end) as orders_refunded,
        sum(case when status = 'paid' then gross_amount else 0 end) as gross_amount,
        sum(case when status = 'paid' then discount_amount else 0 end) as discount_amount,
        sum(case when status = 'paid' then paid_amount else 0 end) as revenue,
        count(case when status = 'paid' and used_coupon then 1 end) as coupon_orders
    from orders
    group by user_id, order_date
),

item_counts as (
    select
        user_id,
        order_date as activity_date,
        sum(quantity) as items,
        count(distinct product_id) as distinct_products
    from paid_order_items
    group by user_id, order_date
),

send_counts as (
    select
        user_id,
        send_date as activity_date,
        count(case when is_treatment then 1 end) as sends_received,
        count(case when is_treatment and was_opened then 1 end) as sends_opened,
        count(case when is_treatment and was_clicked then 1 end) as sends_clicked
    from sends
    group by user_id, send_date
),

review_counts as (
    select
        user_id,
        review_date as activity_date,
        count(*) as reviews,
        sum(rating) as rating_sum
    from reviews
    group by user_id, review_date
),

user_days as (
    select user_id, activity_date from event_counts
    union
    select user_id, activity_date from order_counts
    union
    select user_id, activity_date from send_counts
    union
    select user_id, activity_date from review_counts
),

daily as (
    select
        user_days.user_id,
        user_days.activity_date,
        (
            coalesce(event_counts.events, 0) > 0
            or order_counts.user_id is not null
            or review_counts.user_id is not null
        ) as is_active,
        coalesce(event_counts.events, 0) as events,
        coalesce(event_counts.views, 0) as views,
        coalesce(event_counts.searches, 0) as searches,
        coalesce(event_counts.clicks, 0) as clicks,
        coalesce(event_counts.carts, 0) as carts,
        coalesce(event_counts.favorites, 0) as favorites,
        coalesce(event_counts.purchase_events, 0) as purchase_events,
        coalesce(event_counts.sessions, 0) as sessions,
        coalesce(session_counts.sessions_carted, 0) as sessions_carted,
        coalesce(session_counts.sessions_abandoned, 0) as sessions_abandoned,
        {%- for slot in hour_slots() %}
        coalesce(event_counts.events_{{ slot.name }}, 0) as events_{{ slot.name }},
        {%- endfor %}
        {%- for platform in accepted_codes('platform') %}
        coalesce(event_counts.events_{{ platform }}, 0) as events_{{ platform }},
        {%- endfor %}
        coalesce(order_counts.orders, 0) as orders,
        coalesce(order_counts.orders_cancelled, 0) as orders_cancelled,
        coalesce(order_counts.orders_refunded, 0) as orders_refunded,
        {{ to_money('coalesce(order_counts.gross_amount, 0)') }} as gross_amount,
        {{ to_money('coalesce(order_counts.discount_amount, 0)') }} as discount_amount,
        {{ to_money('coalesce(order_counts.revenue, 0)') }} as revenue,
        coalesce(order_counts.coupon_orders, 0) as coupon_orders,
        cast(coalesce(item_counts.items, 0) as bigint) as items,
        coalesce(item_counts.distinct_products, 0) as distinct_products,
        coalesce(send_counts.sends_received, 0) as sends_received,
        coalesce(send_counts.sends_opened, 0) as sends_opened,
        coalesce(send_counts.sends_clicked, 0) as sends_clicked,
        coalesce(review_counts.reviews, 0) as reviews,
        cast(coalesce(review_counts.rating_sum, 0) as bigint) as rating_sum
    from user_days
    left join event_counts
        on user_days.user_id = event_counts.user_id and user_days.activity_date = event_counts.activity_date
    left join session_counts
        on user_days.user_id = session_counts.user_id and user_days.activity_date = session_counts.activity_date
    left join order_counts
        on user_days.user_id = order_counts.user_id and user_days.activity_date = order_counts.activity_date
    left join item_counts
        on user_days.user_id = item_counts.user_id and user_days.activity_date = item_counts.activity_date
    left join send_counts
        on user_days.user_id = send_counts.user_id and user_days.activity_date = send_counts.activity_date
    left join review_counts
        on user_days.user_id = review_counts.user_id and user_days.activity_date = review_counts.activity_date
)

select * from daily
