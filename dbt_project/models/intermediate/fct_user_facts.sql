{{ config(materialized='table') }}
{#-
    Per-user facts as of one business day (var as_of_date; null = the latest landed day), one row
    per user whose first clean version landed by then. The parts that read history come from the
    per-user state models (int_user_activity, int_user_comebacks, fct_user_category_shares), which
    a run updates for the users its days touch only (macros/user_state.sql); this model adds what
    moves with the day itself — age, tenure, recency, days inactive, lifecycle — for every user.
    Nothing after the as-of day is read, so a past as-of reproduces what was known then.

    Windows `_30d`/`_90d`/`_365d` are the N days ending on as_of, inclusive. Behaviour facts
    (category, brand, price, hours, channels, funnel) look at the last 90 days; preferred_platform
    and preferred_hour_slot at all history. Amounts in CNY; revenue is paid_amount of paid orders.
-#}

{#- Lifecycle thresholds: a fixed var is a literal, `auto` reads fct_lifecycle_thresholds (one row). -#}
{%- set silent_days = lifecycle_threshold('lifecycle_silent_days', 'silent_days') -%}
{%- set churned_days = lifecycle_threshold('lifecycle_churned_days', 'churned_days') -%}
{%- set new_days = integer_var('lifecycle_new_days') -%}
{%- set reactivated_days = lifecycle_threshold('lifecycle_reactivated_days', 'reactivated_days') -%}
{%- set fixed_silent = auto_integer_var('lifecycle_silent_days') -%}
{%- set fixed_churned = auto_integer_var('lifecycle_churned_days') -%}
{%- if fixed_silent is not none and fixed_churned is not none and fixed_churned < fixed_silent -%}
    {{ exceptions.raise_compiler_error("var lifecycle_churned_days must not be less than lifecycle_silent_days") }}
{%- endif -%}

{%- set platform_columns = [] -%}
{%- for platform in accepted_codes('platform') -%}
    {%- do platform_columns.append((platform, 'events_' ~ platform)) -%}
{%- endfor -%}
{%- set slot_columns = [] -%}
{%- set slot_columns_90d = [] -%}
{%- for slot in hour_slots() -%}
    {%- do slot_columns.append((slot.name, 'events_' ~ slot.name)) -%}
    {%- do slot_columns_90d.append((slot.name, 'events_' ~ slot.name ~ '_90d')) -%}
{%- endfor -%}
{%- set weekday_columns = [] -%}
{%- for day in weekdays() -%}
    {%- do weekday_columns.append((day, 'events_' ~ day ~ '_90d')) -%}
{%- endfor -%}
{%- set channel_columns = [] -%}
{%- for channel in channels_by_cost() -%}
    {%- do channel_columns.append((channel, 'coalesce(activity.responses_per_message_' ~ channel ~ ', 0)')) -%}
{%- endfor %}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

-- The derived lifecycle thresholds as of the same day; an aggregate, so always one row.
lifecycle as (
    select
        max(silent_days) as silent_days,
        max(churned_days) as churned_days,
        max(reactivated_days) as reactivated_days
    from {{ ref('fct_lifecycle_thresholds') }}
),

users_as_of as (
    select
        versions.*,
        as_of.as_of_date
    from {{ ref('stg_users_versions') }} as versions
    cross join as_of
    where {{ version_valid_on('versions', 'as_of.as_of_date') }}
),

-- The history parts, kept per user from run to run (int_user_activity, int_user_comebacks).
activity as (
    select * from {{ ref('int_user_activity') }}
),

-- The latest day a user came back after more than the silent threshold without activity.
comebacks as (
    select
        candidates.user_id,
        max(candidates.activity_date) as last_reactivated_date
    from {{ ref('int_user_comebacks') }} as candidates
    cross join lifecycle
    where candidates.gap_days > {{ silent_days }} + 1
    group by candidates.user_id
),

categories_l1 as (
    select * from {{ ref('fct_user_category_shares') }}
    where category_level = 'l1'
),

category_facts as (
    select
        user_id,
        max(case when interest_rank = 1 then category end) as top_category_l1,
        max(case when interest_rank = 1 then interest_share end) as top_category_l1_share,
        count(*) as categories_l1_90d,
        {{ dbt.listagg(
            'case when is_affinity then category end',
            "','",
            'order by interest_rank'
        ) }} as category_affinities,
        sum(views) as product_views_90d,
        sum(viewed_price_percentile_sum) as viewed_price_percentile_sum_90d,
        sum(purchase_lines) as purchase_lines_90d,
        sum(purchased_price_percentile_sum) as purchased_price_percentile_sum_90d
    from categories_l1
    group by user_id
),

top_category_l2 as (
    select
        user_id,
        category as top_category_l2,
        interest_share as top_category_l2_share
    from {{ ref('fct_user_category_shares') }}
    where category_level = 'l2'
        and interest_rank = 1
),

facts as (
    select
        users_as_of.user_id,
        users_as_of.gender,
        cast({{ age_in_years('users_as_of.birth_date', 'users_as_of.as_of_date') }} as integer) as age,
        users_as_of.city,
        users_as_of.province,
        users_as_of.city_tier,
        users_as_of.register_channel,
        users_as_of.marketing_consent,
        users_as_of.registered_at_utc as registered_at,
        cast({{ dbt.datediff('users_as_of.registered_date', 'users_as_of.as_of_date', 'day') }} as integer)
            as tenure_days,
        activity.first_active_date,
        activity.last_active_date,
        cast({{ dbt.datediff('coalesce(activity.last_active_date, users_as_of.registered_date)',
                             'users_as_of.as_of_date', 'day') }} as integer) as days_inactive,
        comebacks.last_reactivated_date,
        activity.first_order_date,
        activity.last_order_date,
        cast({{ dbt.datediff('activity.last_order_date', 'users_as_of.as_of_date', 'day') }} as integer)
            as recency_days,
        {%- for days in [30, 90, 365] %}
        cast(coalesce(activity.orders_{{ days }}d, 0) as bigint) as orders_{{ days }}d,
        {{ to_money('coalesce(activity.revenue_' ~ days ~ 'd, 0)') }} as revenue_{{ days }}d,
        {%- endfor %}
        cast(coalesce(activity.orders_total, 0) as bigint) as orders_total,
        {{ to_money('coalesce(activity.revenue_total, 0)') }} as revenue_total,
        {{ to_money('activity.revenue_total / nullif(activity.orders_total, 0)') }} as aov,
        {{ to_money('activity.revenue_365d / nullif(activity.orders_365d, 0)') }} as aov_365d,
        {{ ratio('activity.coupon_orders_total', 'activity.orders_total') }} as coupon_order_share,
        cast(coalesce(activity.coupon_orders_90d, 0) as bigint) as coupon_orders_90d,
        {{ ratio('activity.coupon_orders_90d', 'activity.orders_90d') }} as coupon_order_share_90d,
        {{ ratio('activity.discount_amount_90d', 'activity.gross_amount_90d') }} as discount_depth_90d,
        cast(coalesce(category_facts.product_views_90d, 0) as bigint) as product_views_90d,
        cast(coalesce(category_facts.viewed_price_percentile_sum_90d, 0) as decimal(18, 6))
            as viewed_price_percentile_sum_90d,
        {{ ratio('category_facts.viewed_price_percentile_sum_90d', 'category_facts.product_views_90d') }}
            as viewed_price_percentile_90d,
        cast(coalesce(category_facts.purchase_lines_90d, 0) as bigint) as purchase_lines_90d,
        cast(coalesce(category_facts.purchased_price_percentile_sum_90d, 0) as decimal(18, 6))
            as purchased_price_percentile_sum_90d,
        {{ ratio('category_facts.purchased_price_percentile_sum_90d', 'category_facts.purchase_lines_90d') }}
            as purchased_price_percentile_90d,
        cast(coalesce(activity.active_days_30d, 0) as bigint) as active_days_30d,
        cast(coalesce(activity.active_days_90d, 0) as bigint) as active_days_90d,
        cast(coalesce(activity.events_30d, 0) as bigint) as events_30d,
        cast(coalesce(activity.events_90d, 0) as bigint) as events_90d,
        cast(coalesce(activity.sessions_90d, 0) as bigint) as sessions_90d,
        cast(coalesce(activity.sessions_carted_90d, 0) as bigint) as sessions_carted_90d,
        cast(coalesce(activity.sessions_abandoned_90d, 0) as bigint) as sessions_abandoned_90d,
        {{ ratio('activity.sessions_carted_90d', 'activity.sessions_90d') }} as view_to_cart_rate_90d,
        {{ ratio('activity.sessions_carted_90d - activity.sessions_abandoned_90d', 'activity.sessions_carted_90d') }}
            as cart_to_buy_rate_90d,
        {{ ratio('activity.sessions_abandoned_90d', 'activity.sessions_carted_90d') }} as cart_abandonment_rate_90d,
        activity.last_cart_abandoned_date,
        {{ label_of_max(platform_columns) }} as preferred_platform,
        {{ label_of_max(slot_columns) }} as preferred_hour_slot,
        coalesce({{ label_of_max(slot_columns_90d) }}, 'unknown') as best_hour_slot,
        coalesce({{ label_of_max(weekday_columns) }}, 'unknown') as best_weekday,
        coalesce(category_facts.top_category_l1, 'unknown') as top_category_l1,
        category_facts.top_category_l1_share,
        coalesce(top_category_l2.top_category_l2, 'unknown') as top_category_l2,
        top_category_l2.top_category_l2_share,
        nullif(category_facts.category_affinities, '') as category_affinities,
        cast(coalesce(category_facts.categories_l1_90d, 0) as bigint) as categories_l1_90d,
        cast(coalesce(activity.brands_90d, 0) as bigint) as brands_90d,
        cast(coalesce(activity.branded_lines_90d, 0) as bigint) as branded_lines_90d,
        activity.top_brand,
        activity.top_brand_share,
        activity.brand_concentration,
        cast(coalesce(activity.messages_90d, 0) as bigint) as messages_90d,
        {{ ratio('activity.opens_90d', 'activity.messages_90d') }} as open_rate_90d,
        {{ ratio('activity.clicks_90d', 'activity.messages_90d') }} as click_rate_90d,
        {{ ratio('activity.conversions_90d', 'activity.messages_90d') }} as conversion_rate_90d,
        {%- for channel in accepted_codes('channel') %}
        cast(coalesce(activity.messages_{{ channel }}, 0) as bigint) as messages_{{ channel }}_90d,
        activity.open_rate_{{ channel }} as open_rate_{{ channel }}_90d,
        activity.click_rate_{{ channel }} as click_rate_{{ channel }}_90d,
        activity.conversion_rate_{{ channel }} as conversion_rate_{{ channel }}_90d,
        {%- endfor %}
        coalesce({{ label_of_max(channel_columns) }}, 'unknown') as best_channel,
        cast(coalesce(activity.reviews_total, 0) as bigint) as reviews_total,
        {{ ratio('activity.rating_sum_total', 'activity.reviews_total') }} as avg_rating,
        users_as_of.as_of_date as as_of
    from users_as_of
    left join activity on users_as_of.user_id = activity.user_id
    left join comebacks on users_as_of.user_id = comebacks.user_id
    left join category_facts on users_as_of.user_id = category_facts.user_id
    left join top_category_l2 on users_as_of.user_id = top_category_l2.user_id
),

scored as (
    select
        facts.*,
        {{ price_sensitivity_score('facts') }} as price_sensitivity_score,
        case
            when facts.days_inactive > {{ churned_days }} then 'churned'
            when facts.days_inactive > {{ silent_days }} then 'silent'
            when facts.tenure_days < {{ new_days }} then 'new'
            when {{ dbt.datediff('facts.last_reactivated_date', 'facts.as_of', 'day') }} < {{ reactivated_days }}
                then 'reactivated'
            else 'active'
        end as lifecycle_stage
    from facts
    cross join lifecycle
)

select * from scored
