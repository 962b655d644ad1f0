{#-
    What each user's rollup rows sum to as of one business day (fct_user_facts's as_of): one row
    per user with an int_user_daily row by then. All-history totals and first/last days, sums over
    the 30/90/365 days ending on as_of, and the 90-day brand and channel responses — the parts of
    the user facts that read history. fct_user_facts adds what moves with the day itself (recency,
    tenure, lifecycle) for every user.

    Kept from run to run (macros/user_state.sql): a run recomputes the users a changed or moved day
    touches and keeps everyone else's row. The brand and channel rollups only hold user-days that
    int_user_daily also holds (their rows come from paid orders and sends), so the users are those
    of int_user_daily.
-#}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

{% if is_incremental() -%}
{{ refresh_users_ctes([ref('int_user_daily'), ref('int_user_brand_daily'), ref('int_user_channel_daily')], 'last_row_date') }},
{%- endif %}

daily as (
    select
        daily.*,
        {{ dbt.datediff('daily.activity_date', 'as_of.as_of_date', 'day') }} as days_ago,
        {{ iso_weekday('daily.activity_date') }} as weekday
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.activity_date <= as_of.as_of_date{{ and_refreshed('daily') }}
),

activity as (
    select
        user_id,
        max(activity_date) as last_row_date,
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

brand_spend as (
    select
        brands.user_id,
        brands.brand,
        sum(brands.purchase_lines) as purchase_lines,
        {{ to_money('sum(brands.purchased_amount)') }} as purchased_amount
    from {{ ref('int_user_brand_daily') }} as brands
    cross join as_of
    where {{ in_trailing_days('brands', 90) }}{{ and_refreshed('brands') }}
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
    {{ trailing_rows(ref('int_user_channel_daily'), 'channels', 90) }}
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

state as (
    select
        activity.*,
        brand_facts.brands_90d,
        brand_facts.branded_lines_90d,
        brand_facts.top_brand,
        brand_facts.top_brand_share,
        brand_facts.brand_concentration,
        channel_responses.messages_90d,
        channel_responses.opens_90d,
        channel_responses.clicks_90d,
        channel_responses.conversions_90d,
        {%- for channel in accepted_codes('channel') %}
        channel_responses.messages_{{ channel }},
        channel_responses.open_rate_{{ channel }},
        channel_responses.click_rate_{{ channel }},
        channel_responses.conversion_rate_{{ channel }},
        channel_responses.responses_per_message_{{ channel }},
        {%- endfor %}
        as_of.as_of_date as as_of
    from activity
    cross join as_of
    left join brand_facts on activity.user_id = brand_facts.user_id
    left join channel_responses on activity.user_id = channel_responses.user_id
)

{{ state_rows('state') }}
