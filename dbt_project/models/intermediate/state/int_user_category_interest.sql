{#-
    Category interest per user as of one business day (fct_user_facts's as_of), long: one row per
    user and L1 category (category_level 'l1') and per user and L2 category ('l2') the user
    interacted with in the 90 days ending on as_of. Interest weighs behaviour (macro
    category_interest: view 1, click 1, favourite 2, cart 3, bought line 5); shares are of the
    user's total interest on that level. last_activity_date: the latest day of the rows summed.

    Kept from run to run like int_user_activity (macros/user_state.sql); fct_user_category_shares
    shows it with the affinity flag of the day's var.
-#}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

{% if is_incremental() -%}
{{ refresh_users_ctes([ref('int_user_category_daily')], 'last_activity_date') }},
{%- endif %}

category_rows_90d as (
    {{ trailing_rows(ref('int_user_category_daily'), 'categories', 90) }}
),

by_l2 as (
    select
        user_id,
        category_l1,
        category_l2,
        sum({{ category_interest() }}) as interest,
        sum(views) as views,
        sum(viewed_price_percentile_sum) as viewed_price_percentile_sum,
        sum(purchase_lines) as purchase_lines,
        sum(purchased_price_percentile_sum) as purchased_price_percentile_sum,
        sum(purchased_amount) as purchased_amount,
        max(activity_date) as last_activity_date
    from category_rows_90d
    group by user_id, category_l1, category_l2
),

by_l1 as (
    select
        user_id,
        category_l1,
        sum(interest) as interest,
        sum(views) as views,
        sum(viewed_price_percentile_sum) as viewed_price_percentile_sum,
        sum(purchase_lines) as purchase_lines,
        sum(purchased_price_percentile_sum) as purchased_price_percentile_sum,
        sum(purchased_amount) as purchased_amount,
        max(last_activity_date) as last_activity_date
    from by_l2
    group by user_id, category_l1
),

levels as (
    {%- for level, rollup in [('l1', 'by_l1'), ('l2', 'by_l2')] %}
    select
        '{{ level }}' as category_level,
        category_{{ level }} as category,
        user_id,
        category_l1,
        interest,
        views,
        viewed_price_percentile_sum,
        purchase_lines,
        purchased_price_percentile_sum,
        purchased_amount,
        last_activity_date
    from {{ rollup }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

shares as (
    select
        levels.user_id,
        levels.category_level,
        levels.category,
        levels.category_l1,
        cast(levels.interest as bigint) as interest,
        {{ ratio('levels.interest', 'sum(levels.interest) over (partition by levels.user_id, levels.category_level)') }}
            as interest_share,
        cast(row_number() over (
            partition by levels.user_id, levels.category_level
            order by levels.interest desc, levels.category
        ) as integer) as interest_rank,
        cast(levels.views as bigint) as views,
        cast(levels.viewed_price_percentile_sum as decimal(18, 6)) as viewed_price_percentile_sum,
        cast(levels.purchase_lines as bigint) as purchase_lines,
        cast(levels.purchased_price_percentile_sum as decimal(18, 6)) as purchased_price_percentile_sum,
        {{ to_money('levels.purchased_amount') }} as purchased_amount,
        levels.last_activity_date,
        as_of.as_of_date as as_of
    from levels
    cross join as_of
)

{{ state_rows('shares') }}
