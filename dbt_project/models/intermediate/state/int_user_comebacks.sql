{#-
    The active days that can be a user's latest comeback, whatever the silent threshold: each
    active day (as of fct_user_facts's as_of) with the days since the user's previous active day
    (gap_days; null on the first), kept when its gap is longer than every later one's. The latest
    active day is always kept. For any threshold T, the user's latest day with a gap over T is one
    of these rows — a later day with a longer gap would have dropped it — so fct_user_facts finds
    the last reactivation under the lifecycle thresholds of the day (which move with the shop's
    rhythm) from these few rows, not from every active day.

    Kept from run to run like int_user_activity (macros/user_state.sql).
-#}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

{% if is_incremental() -%}
{{ refresh_users_ctes([ref('int_user_daily')], 'activity_date') }},
{%- endif %}

active_days as (
    select
        daily.user_id,
        daily.activity_date,
        cast({{ dbt.datediff(
            'lag(daily.activity_date) over (partition by daily.user_id order by daily.activity_date)',
            'daily.activity_date', 'day') }} as integer) as gap_days
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.is_active
        and daily.activity_date <= as_of.as_of_date{{ and_refreshed('daily') }}
),

longest_later_gaps as (
    select
        active_days.*,
        max(gap_days) over (
            partition by user_id order by activity_date desc rows between unbounded preceding and 1 preceding
        ) as longest_later_gap
    from active_days
),

state as (
    select
        longest_later_gaps.user_id,
        longest_later_gaps.activity_date,
        longest_later_gaps.gap_days,
        as_of.as_of_date as as_of
    from longest_later_gaps
    cross join as_of
    where longest_later_gaps.longest_later_gap is null
        or longest_later_gaps.gap_days > longest_later_gaps.longest_later_gap
)

{{ state_rows('state') }}
