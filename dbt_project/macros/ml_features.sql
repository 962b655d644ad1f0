{#-
    Point-in-time user features for the ML assets (docs/ml.md). Every macro takes the as-of day as
    a SQL expression and reads only rollup rows with activity_date <= as-of and the user version
    valid on that day, so features as of a past day are exactly what was known then.
-#}


{#- Trailing windows (days ending on as-of, inclusive) of the count features. -#}
{% macro ml_feature_windows() -%}
    {{ return([7, 30, 90]) }}
{%- endmacro %}


{#- Relative weight of each behaviour towards interest in a product (category mix, price level). -#}
{% macro ml_interaction_weight(relation='') -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    ({{ p }}views + {{ p }}clicks + 2 * {{ p }}favorites + 3 * {{ p }}carts + 5 * {{ p }}purchased_units)
{%- endmacro %}


{#- The first day with any activity: how far back history reaches (caps the observable window). -#}
{% macro ml_history_start() -%}
    (select min(activity_date) from {{ ref('int_user_daily') }})
{%- endmacro %}


{#-
    One row per user whose version valid on the as-of day exists (registered and landed by then),
    active or not: RFM windows, rates, recency, coupon and price sensitivity, hour-slot and
    platform shares, engagement and campaign response. Nulls mean "undefined" (e.g. no order yet).
-#}
{% macro user_features_as_of(as_of_expr) -%}
{#- Observable days also cover activity seen before the registration (a real export can date a
    review before the order that made the user known: 59 Olist reviews), so rates stay <= 1. -#}
{%- set observed = "greatest(users_as_of.observed_days, coalesce(activity.days_since_first_active, 0) + 1)" -%}
with as_of as (
    select
        cast({{ as_of_expr }} as date) as as_of_date,
        {{ ml_history_start() }} as history_start
),

users_as_of as (
    select
        versions.user_id,
        versions.birth_date,
        versions.city_tier,
        versions.marketing_consent,
        as_of.as_of_date,
        {{ dbt.datediff('versions.registered_date', 'as_of.as_of_date', 'day') }} as tenure_days,
        {#- Days the user could have been seen: since registration, but no further back than history. -#}
        least(
            {{ dbt.datediff('versions.registered_date', 'as_of.as_of_date', 'day') }},
            {{ dbt.datediff('as_of.history_start', 'as_of.as_of_date', 'day') }}
        ) + 1 as observed_days
    from {{ ref('stg_users_versions') }} as versions
    cross join as_of
    where {{ version_valid_on('versions', 'as_of.as_of_date') }}
),

daily as (
    select
        daily.*,
        {{ dbt.datediff('daily.activity_date', 'as_of.as_of_date', 'day') }} as days_ago
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.activity_date <= as_of.as_of_date
),

activity as (
    select
        user_id,
        {%- for days in ml_feature_windows() %}
        count(case when is_active and days_ago < {{ days }} then 1 end) as active_days_{{ days }}d,
        sum(case when days_ago < {{ days }} then sessions else 0 end) as sessions_{{ days }}d,
        sum(case when days_ago < {{ days }} then events else 0 end) as events_{{ days }}d,
        sum(case when days_ago < {{ days }} then carts else 0 end) as carts_{{ days }}d,
        sum(case when days_ago < {{ days }} then orders else 0 end) as orders_{{ days }}d,
        sum(case when days_ago < {{ days }} then revenue else 0 end) as revenue_{{ days }}d,
        {%- endfor %}
        count(case when is_active then 1 end) as active_days,
        sum(sessions) as sessions,
        sum(events) as events,
        sum(views) as views,
        sum(searches) as searches,
        sum(carts) as carts,
        sum(favorites) as favorites,
        sum(orders) as orders,
        sum(orders_cancelled + orders_refunded) as orders_failed,
        sum(revenue) as revenue,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(coupon_orders) as coupon_orders,
        sum(items) as items,
        sum(sends_received) as sends_received,
        sum(sends_opened) as sends_opened,
        sum(sends_clicked) as sends_clicked,
        {%- for slot in hour_slots() %}
        sum(events_{{ slot.name }}) as events_{{ slot.name }},
        {%- endfor %}
        {%- for platform in accepted_codes('platform') %}
        sum(events_{{ platform }}) as events_{{ platform }},
        {%- endfor %}
        min(case when is_active then days_ago end) as days_since_last_active,
        max(case when is_active then days_ago end) as days_since_first_active,
        min(case when orders > 0 then days_ago end) as days_since_last_order,
        max(case when orders > 0 then days_ago end) as days_since_first_order
    from daily
    group by user_id
),

product_days as (
    select
        product_days.user_id,
        product_days.category_l2,
        ln(product_days.list_price) as log_price,
        {{ ml_interaction_weight('product_days') }} as weight,
        product_days.purchased_units
    from {{ ref('int_user_product_daily') }} as product_days
    cross join as_of
    where product_days.activity_date <= as_of.as_of_date
        and product_days.list_price > 0
),

{#- Typical (interaction-weighted) log price of each sub-category, from the same history. -#}
category_prices as (
    select
        category_l2,
        sum(weight * log_price) / sum(weight) as category_log_price
    from product_days
    group by category_l2
),

price_levels as (
    select
        product_days.user_id,
        sum(product_days.weight * (product_days.log_price - category_prices.category_log_price))
            / nullif(sum(product_days.weight), 0) as price_index,
        sum(product_days.purchased_units * (product_days.log_price - category_prices.category_log_price))
            / nullif(sum(product_days.purchased_units), 0) as purchased_price_index
    from product_days
    inner join category_prices on product_days.category_l2 = category_prices.category_l2
    group by product_days.user_id
),

features as (
    select
        users_as_of.user_id,
        users_as_of.as_of_date,
        cast(users_as_of.tenure_days as integer) as tenure_days,
        cast({{ observed }} as integer) as observed_days,
        cast({{ age_in_years('users_as_of.birth_date', 'users_as_of.as_of_date') }} as integer) as age,
        cast(users_as_of.city_tier as integer) as city_tier,
        cast(users_as_of.marketing_consent as integer) as marketing_consent,
        {%- for days in ml_feature_windows() %}
        cast(coalesce(activity.active_days_{{ days }}d, 0) as integer) as active_days_{{ days }}d,
        cast(coalesce(activity.sessions_{{ days }}d, 0) as integer) as sessions_{{ days }}d,
        cast(coalesce(activity.events_{{ days }}d, 0) as integer) as events_{{ days }}d,
        cast(coalesce(activity.carts_{{ days }}d, 0) as integer) as carts_{{ days }}d,
        cast(coalesce(activity.orders_{{ days }}d, 0) as integer) as orders_{{ days }}d,
        cast(coalesce(activity.revenue_{{ days }}d, 0) as double) as revenue_{{ days }}d,
        {%- endfor %}
        cast(coalesce(activity.active_days, 0) as integer) as active_days,
        cast(coalesce(activity.sessions, 0) as integer) as sessions,
        cast(coalesce(activity.events, 0) as integer) as events,
        cast(coalesce(activity.orders, 0) as integer) as orders,
        cast(coalesce(activity.revenue, 0) as double) as revenue,
        cast(activity.days_since_last_active as integer) as days_since_last_active,
        cast(activity.days_since_first_active as integer) as days_since_first_active,
        cast(activity.days_since_last_order as integer) as days_since_last_order,
        cast(activity.days_since_first_order as integer) as days_since_first_order,
        {#- Rates per observable day are comparable between as-of days with different history lengths. -#}
        {{ ratio('coalesce(activity.active_days, 0)', observed) }} as active_day_rate,
        {{ ratio('coalesce(activity.orders, 0)', observed) }} as order_rate,
        {{ ratio('coalesce(activity.revenue, 0)', observed) }} as revenue_rate,
        {{ ratio('activity.days_since_last_active', observed) }} as recency_share,
        {#- log P(no visit for the days since the last one | still active at the smoothed visit rate). -#}
        ln(greatest(1 - (coalesce(activity.active_days, 0) + 0.5) / ({{ observed }} + 2.0), 0.001))
            * coalesce(activity.days_since_last_active, {{ observed }}) as silence_log_likelihood,
        {{ ratio('activity.active_days', 'activity.days_since_first_active + 1') }} as active_day_share,
        {{ ratio('activity.orders + activity.orders_failed', 'activity.active_days') }} as checkouts_per_active_day,
        {{ ratio('activity.sessions', 'activity.active_days') }} as sessions_per_active_day,
        {{ ratio('activity.events', 'activity.sessions') }} as events_per_session,
        {{ ratio('activity.orders', 'activity.sessions') }} as orders_per_session,
        {{ ratio('activity.revenue', 'activity.orders') }} as avg_order_value,
        {{ ratio('activity.items', 'activity.orders') }} as items_per_order,
        {{ ratio('activity.coupon_orders', 'activity.orders') }} as coupon_share,
        {{ ratio('activity.discount_amount', 'activity.gross_amount') }} as discount_share,
        {{ ratio('activity.orders_failed', 'activity.orders + activity.orders_failed') }} as failed_order_share,
        {{ ratio('activity.carts', 'activity.views') }} as cart_per_view,
        {{ ratio('activity.searches', 'activity.events') }} as search_share,
        {{ ratio('activity.favorites', 'activity.events') }} as favorite_share,
        {%- for slot in hour_slots() %}
        {{ ratio('activity.events_' ~ slot.name, 'activity.events') }} as {{ slot.name }}_share,
        {%- endfor %}
        {%- for platform in accepted_codes('platform') %}
        {{ ratio('activity.events_' ~ platform, 'activity.events') }} as {{ platform }}_share,
        {%- endfor %}
        {{ ratio('activity.sends_opened', 'activity.sends_received') }} as open_rate,
        {{ ratio('activity.sends_clicked', 'activity.sends_received') }} as click_rate,
        price_levels.price_index,
        price_levels.purchased_price_index
    from users_as_of
    left join activity on users_as_of.user_id = activity.user_id
    left join price_levels on users_as_of.user_id = price_levels.user_id
)

select * from features
{%- endmacro %}


{#- Each user's interest per top-level category (weighted interactions up to as-of), long form. -#}
{% macro user_category_mix_as_of(as_of_expr) -%}
with as_of as (
    select cast({{ as_of_expr }} as date) as as_of_date
),

interest as (
    select
        product_days.user_id,
        product_days.category_l1,
        sum({{ ml_interaction_weight('product_days') }}) as weight
    from {{ ref('int_user_product_daily') }} as product_days
    cross join as_of
    where product_days.activity_date <= as_of.as_of_date
        and product_days.category_l1 is not null
    group by product_days.user_id, product_days.category_l1
),

mix as (
    select
        interest.user_id,
        as_of.as_of_date,
        interest.category_l1,
        cast(interest.weight as double) as weight,
        cast(interest.weight as double) / sum(interest.weight) over (partition by interest.user_id) as share
    from interest
    cross join as_of
)

select * from mix
{%- endmacro %}
