{{ config(materialized='table') }}
{#-
    The wide user profile (one row per user) as of one day, from the daily rollup only — nothing
    after the as-of day is read, so a past as-of reproduces what was known then. Demographics are
    the user version valid on that day. Windows "_30d" etc. are the N days ending on as_of,
    inclusive (as_of - N + 1 .. as_of).
-#}

with as_of as (
    select {{ as_of_date(
        'select max(activity_date) as day from ' ~ ref('int_user_daily')
        ~ ' union all select max(valid_from_date) as day from ' ~ ref('stg_users__versions')
    ) }} as as_of_date
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
        {{ dbt.datediff('daily.activity_date', 'as_of.as_of_date', 'day') }} as days_ago
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
        {%- for days in [30, 90, 365] %}
        sum(case when days_ago < {{ days }} then orders else 0 end) as orders_{{ days }}d,
        sum(case when days_ago < {{ days }} then revenue else 0 end) as revenue_{{ days }}d,
        {%- endfor %}
        sum(orders) as orders_total,
        sum(revenue) as revenue_total,
        sum(coupon_orders) as coupon_orders_total,
        count(case when is_active and days_ago < 30 then 1 end) as active_days_30d,
        sum(case when days_ago < 30 then events else 0 end) as events_30d,
        {%- for platform in accepted_codes('platform') %}
        sum(events_{{ platform }}) as events_{{ platform }},
        {%- endfor %}
        {%- for slot in hour_slots() %}
        sum(events_{{ slot.name }}) as events_{{ slot.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from daily
    group by user_id
),

{%- set platform_columns = [] -%}
{%- for platform in accepted_codes('platform') -%}
    {%- do platform_columns.append((platform, 'events_' ~ platform)) -%}
{%- endfor -%}
{%- set slot_columns = [] -%}
{%- for slot in hour_slots() -%}
    {%- do slot_columns.append((slot.name, 'events_' ~ slot.name)) -%}
{%- endfor %}

preferences as (
    select
        user_id,
        {{ label_of_max(platform_columns) }} as preferred_platform,
        {{ label_of_max(slot_columns) }} as preferred_hour_slot
    from activity
),

profile as (
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
        cast(activity.coupon_orders_total as double) / nullif(activity.orders_total, 0) as coupon_order_share,
        cast(coalesce(activity.active_days_30d, 0) as bigint) as active_days_30d,
        cast(coalesce(activity.events_30d, 0) as bigint) as events_30d,
        preferences.preferred_platform,
        preferences.preferred_hour_slot,
        users_as_of.as_of_date as as_of
    from users_as_of
    left join activity on users_as_of.user_id = activity.user_id
    left join preferences on users_as_of.user_id = preferences.user_id
)

select * from profile
