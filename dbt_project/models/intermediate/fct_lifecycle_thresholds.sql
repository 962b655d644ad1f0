{{ config(materialized='table') }}
{#-
    The lifecycle thresholds (days without activity before a user is silent / churned, and how
    recent a comeback must be to count as reactivated) as of one business day: one row. A var set
    to a number fixes its threshold; `auto` (the default) derives it from how often this shop's
    customers buy again — the gaps, in days, between consecutive purchase days of repeat buyers,
    counting the gaps that ended in the 365 days up to as_of:
      silent      = the median gap (half of the repurchases come later than that: overdue),
      churned     = the 90th percentile gap (beyond it, a repurchase is rare),
      reactivated = the silent threshold (back, within that many days, from a silent gap),
    each at least its floor (lifecycle_*_days_floor), and the floors alone when fewer than
    lifecycle_min_repeat_buyers users bought twice (too few gaps to read a rhythm from).
    A shop whose customers buy every few months gets thresholds of months, not the 14 / 30 days a
    weekly buyer warrants. fct_user_facts cuts lifecycle_stage with these; marts.tag_cut_points
    shows them.
-#}

{%- set fixed_silent = auto_integer_var('lifecycle_silent_days') -%}
{%- set fixed_churned = auto_integer_var('lifecycle_churned_days') -%}
{%- set fixed_reactivated = auto_integer_var('lifecycle_reactivated_days') -%}
{%- set silent_floor = integer_var('lifecycle_silent_days_floor') -%}
{%- set churned_floor = integer_var('lifecycle_churned_days_floor') -%}
{%- set min_repeat_buyers = integer_var('lifecycle_min_repeat_buyers') -%}
{%- if fixed_silent is not none and fixed_churned is not none and fixed_churned < fixed_silent -%}
    {{ exceptions.raise_compiler_error("var lifecycle_churned_days must not be less than lifecycle_silent_days") }}
{%- endif %}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

purchase_days as (
    select
        daily.user_id,
        daily.activity_date,
        as_of.as_of_date
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.orders > 0
        and daily.activity_date <= as_of.as_of_date
),

-- Days from each purchase day to the user's next one: the shop's repurchase rhythm.
gaps as (
    select
        user_id,
        activity_date,
        as_of_date,
        {{ dbt.datediff('lag(activity_date) over (partition by user_id order by activity_date)',
                        'activity_date', 'day') }} as gap_days
    from purchase_days
),

-- Recent rhythm only: gaps that ended in the 365 days up to as_of.
recent_gaps as (
    select user_id, cast(gap_days as integer) as gap_days
    from gaps
    where gap_days is not null
        and {{ dbt.datediff('activity_date', 'as_of_date', 'day') }} < 365
),

rhythm as (
    select
        count(distinct user_id) as repeat_buyers,
        count(*) as purchase_gaps,
        cast({{ quantile_disc('gap_days', 0.5) }} as integer) as gap_p50_days,
        cast({{ quantile_disc('gap_days', 0.9) }} as integer) as gap_p90_days
    from recent_gaps
),

-- The quantiles when there are enough repeat buyers, never below the floors.
derived as (
    select
        rhythm.*,
        repeat_buyers >= {{ min_repeat_buyers }} as has_rhythm,
        case when repeat_buyers >= {{ min_repeat_buyers }}
            then greatest(gap_p50_days, {{ silent_floor }}) else {{ silent_floor }} end as auto_silent_days,
        case when repeat_buyers >= {{ min_repeat_buyers }}
            then greatest(gap_p90_days, {{ churned_floor }}) else {{ churned_floor }} end as auto_churned_days
    from rhythm
),

-- Fixed vars win; a derived threshold bends to a fixed one so that churned >= silent holds.
{%- set silent_sql = fixed_silent if fixed_silent is not none else
    ('least(auto_silent_days, ' ~ fixed_churned ~ ')' if fixed_churned is not none else 'auto_silent_days') %}
{%- set churned_sql = fixed_churned if fixed_churned is not none else 'greatest(auto_churned_days, silent_days)' %}
thresholds as (
    select
        derived.*,
        cast({{ silent_sql }} as integer) as silent_days
    from derived
),

final as (
    select
        as_of.as_of_date as as_of,
        cast(thresholds.repeat_buyers as bigint) as repeat_buyers,
        cast(thresholds.purchase_gaps as bigint) as purchase_gaps,
        thresholds.gap_p50_days,
        thresholds.gap_p90_days,
        thresholds.silent_days,
        {% if fixed_silent is not none -%} 'fixed'
        {%- else -%} case when has_rhythm and gap_p50_days >= {{ silent_floor }} then 'derived' else 'floor' end
        {%- endif %} as silent_days_method,
        cast({{ churned_sql }} as integer) as churned_days,
        {% if fixed_churned is not none -%} 'fixed'
        {%- else -%} case when has_rhythm and gap_p90_days >= {{ churned_floor }} then 'derived' else 'floor' end
        {%- endif %} as churned_days_method,
        cast({{ fixed_reactivated if fixed_reactivated is not none else 'silent_days' }} as integer)
            as reactivated_days,
        {% if fixed_reactivated is not none -%} 'fixed'
        {%- else -%} 'silent_days'
        {%- endif %} as reactivated_days_method,
        {{ integer_var('lifecycle_new_days') }} as new_days
    from thresholds
    cross join as_of
)

select * from final
