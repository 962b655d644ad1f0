{{ config(materialized='table') }}
{#-
    Per-user facts as of one business day (var as_of_date; null = the latest landed day), one row
    per user whose first clean version landed by then. Computed in one pass over each daily
    rollup (nothing after the as-of day is read), so a past as-of reproduces what was known then
    and a new day costs one scan of the rollups, not of staging.

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
    {%- do channel_columns.append((channel, 'coalesce(channel_responses.responses_per_message_' ~ channel ~ ', 0)')) -%}
{%- endfor %}

with as_of as (
    select {{ facts_as_of_date() }} as as_of_date
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
    from {{ ref('stg_users__versions') }} as versions
    cross join as_of
    where versions.valid_from_date <= as_of.as_of_date
        and (versions.valid_to_date is null or versions.valid_to_date > as_of.as_of_date)
),

daily as (
    select
        daily.*,
        {{ dbt.datediff('daily.activity_date', 'as_of.as_of_date', 'day') }} as days_ago,
        {{ iso_weekday('daily.activity_date') }} as weekday
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.activity_date <= as_of.as_of_date
),

activity as (
    select
        user_id,
        min(case when is_active then activity_date end) as first_active_date,
        max(case when is_active then activity_date end) as last_active_date,
        min(case when orders > 0 then activity_date end) as first_order_date,
        max(case when orders > 0 then activity_date end) as last_order_date,
        max(case when sessions_abandoned > 0 then activity_date end) as last_cart_abandoned_date,
        {%- for days in [30, 90, 365] %}
        sum(case when days_ago < {{ days }} then orders else 0 end) as orders_{{ days }}d,
        sum(case when days_ago < {{ days }} then revenue else 0 end) as revenue_{{ days }}d,
        {%- endfor %}
        sum(orders) as orders_total,
        sum(revenue) as revenue_total,
        sum(coupon_orders) as coupon_orders_total,
        count(case when is_active and days_ago < 30 then 1 end) as active_days_30d,
        count(case when is_active and days_ago < 90 then 1 end) as active_days_90d,
        sum(case when days_ago < 30 then events else 0 end) as events_30d,
        sum(case when days_ago < 90 then events else 0 end) as events_90d,
        sum(case when days_ago < 90 then sessions else 0 end) as sessions_90d,
        sum(case when days_ago < 90 then sessions_carted else 0 end) as sessions_carted_90d,
        sum(case when days_ago < 90 then sessions_abandoned else 0 end) as sessions_abandoned_90d,
        sum(case when days_ago < 90 then coupon_orders else 0 end) as coupon_orders_90d,
        sum(case when days_ago < 90 then gross_amount else 0 end) as gross_amount_90d,
        sum(case when days_ago < 90 then discount_amount else 0 end) as discount_amount_90d,
        sum(reviews) as reviews_total,
        sum(rating_sum) as rating_sum_total,
        {%- for day in weekdays() %}
        sum(case when days_ago < 90 and weekday = {{ loop.index }} then events else 0 end) as events_{{ day }}_90d,
        {%- endfor %}
        {%- for slot in hour_slots() %}
        sum(case when days_ago < 90 then events_{{ slot.name }} else 0 end) as events_{{ slot.name }}_90d,
        sum(events_{{ slot.name }}) as events_{{ slot.name }},
        {%- endfor %}
        {%- for platform in accepted_codes('platform') %}
        sum(events_{{ platform }}) as events_{{ platform }}{{ ',' if not loop.last }}
        {%- endfor %}
    from daily
    group by user_id
),

-- The latest day a user came back after more than the silent threshold without activity.
active_days as (
    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_active_date
    from daily
    where is_active
),

comebacks as (
    select
        user_id,
        max(activity_date) as last_reactivated_date
    from active_days
    cross join lifecycle
    where {{ dbt.datediff('previous_active_date', 'activity_date', 'day') }} > {{ silent_days }} + 1
    group by user_id
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

brand_spend as (
    select
        brands.user_id,
        brands.brand,
        sum(brands.purchase_lines) as purchase_lines,
        {{ to_money('sum(brands.purchased_amount)') }} as purchased_amount
    from {{ ref('int_user_brand_daily') }} as brands
    cross join as_of
    where {{ in_trailing_days('brands', 90) }}
    group by brands.user_id, brands.brand
),

brand_shares as (
    select
        user_id,
        brand,
        purchase_lines,
        purchased_amount,
        {{ ratio('purchased_amount', 'sum(purchased_amount) over (partition by user_id)') }} as spend_share,
        row_number() over (partition by user_id order by purchased_amount desc, brand) as spend_rank
    from brand_spend
),

-- Concentration as sum(amount²) / total² over exact decimals: the same whatever the summing order.
brand_facts as (
    select
        user_id,
        count(*) as brands_90d,
        sum(purchase_lines) as branded_lines_90d,
        max(case when spend_rank = 1 then brand end) as top_brand,
        max(case when spend_rank = 1 then spend_share end) as top_brand_share,
        {{ ratio('sum(purchased_amount * purchased_amount)', 'sum(purchased_amount) * sum(purchased_amount)') }}
            as brand_concentration
    from brand_shares
    group by user_id
),

channel_rows_90d as (
    select channels.*
    from {{ ref('int_user_channel_daily') }} as channels
    cross join as_of
    where {{ in_trailing_days('channels', 90) }}
),

channel_responses as (
    select
        user_id,
        sum(messages) as messages_90d,
        sum(opens) as opens_90d,
        sum(clicks) as clicks_90d,
        sum(conversions) as conversions_90d,
        {%- for channel in accepted_codes('channel') %}
        sum(case when channel = '{{ channel }}' then messages else 0 end) as messages_{{ channel }},
        {{ ratio("sum(case when channel = '" ~ channel ~ "' then opens end)",
                 "sum(case when channel = '" ~ channel ~ "' then messages end)") }} as open_rate_{{ channel }},
        {{ ratio("sum(case when channel = '" ~ channel ~ "' then clicks end)",
                 "sum(case when channel = '" ~ channel ~ "' then messages end)") }} as click_rate_{{ channel }},
        {{ ratio("sum(case when channel = '" ~ channel ~ "' then conversions end)",
                 "sum(case when channel = '" ~ channel ~ "' then messages end)") }} as conversion_rate_{{ channel }},
        {{ ratio("sum(case when channel = '" ~ channel ~ "' then opens + clicks + conversions end)",
                 "sum(case when channel = '" ~ channel ~ "' then messages end)") }}
            as responses_per_message_{{ channel }}{{ ',' if not loop.last }}
        {%- endfor %}
    from channel_rows_90d
    group by user_id
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
        cast(coalesce(brand_facts.brands_90d, 0) as bigint) as brands_90d,
        cast(coalesce(brand_facts.branded_lines_90d, 0) as bigint) as branded_lines_90d,
        brand_facts.top_brand,
        brand_facts.top_brand_share,
        brand_facts.brand_concentration,
        cast(coalesce(channel_responses.messages_90d, 0) as bigint) as messages_90d,
        {{ ratio('channel_responses.opens_90d', 'channel_responses.messages_90d') }} as open_rate_90d,
        {{ ratio('channel_responses.clicks_90d', 'channel_responses.messages_90d') }} as click_rate_90d,
        {{ ratio('channel_responses.conversions_90d', 'channel_responses.messages_90d') }} as conversion_rate_90d,
        {%- for channel in accepted_codes('channel') %}
        cast(coalesce(channel_responses.messages_{{ channel }}, 0) as bigint) as messages_{{ channel }}_90d,
        channel_responses.open_rate_{{ channel }} as open_rate_{{ channel }}_90d,
        channel_responses.click_rate_{{ channel }} as click_rate_{{ channel }}_90d,
        channel_responses.conversion_rate_{{ channel }} as conversion_rate_{{ channel }}_90d,
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
    left join brand_facts on users_as_of.user_id = brand_facts.user_id
    left join channel_responses on users_as_of.user_id = channel_responses.user_id
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
