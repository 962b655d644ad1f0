{#-
    Acquisition cohorts × periods since acquisition, per grain in var cohort_grains (default month
    and week; weeks are ISO weeks, Monday first).
    A cohort is the users who registered in one calendar month or week; period 0 is that month or
    week itself, period k the k-th one after. Only users registered on or after the first day with
    data belong to a cohort: older users have no observable history (their early periods would read
    as zero retention). Every cohort gets a row for every period up to the as-of day, zeros
    included; the period holding the as-of day is partial (is_complete_period = false).

    retained: active (an event, order or review) at least once in the period; buyers: at least one
    paid order in it; revenue: paid_amount of paid orders.
-#}

{%- set grains = marketing_cohort_grains() %}

with as_of as (
    select {{ as_of_date() }} as as_of_date
),

daily as (
    select daily.*
    from {{ ref('int_user_daily') }} as daily
    cross join as_of
    where daily.activity_date <= as_of.as_of_date
),

data_start as (
    select min(activity_date) as first_day from daily
),

-- 0, 1, … 1999: periods since the cohort (38 years of weeks).
period_numbers as (
    select generated_number - 1 as period_number
    from ({{ dbt.generate_series(2000) }}) as series
),

cohort_users as (
    select users.user_id, users.registered_date
    from {{ ref('stg_users') }} as users
    cross join as_of
    cross join data_start
    where users.registered_date between data_start.first_day and as_of.as_of_date
),

{%- for grain in grains %}

{{ grain }}_members as (
    select
        user_id,
        cast({{ dbt.date_trunc(grain, 'registered_date') }} as date) as cohort_start
    from cohort_users
),

{{ grain }}_user_periods as (
    select
        user_id,
        cast({{ dbt.date_trunc(grain, 'activity_date') }} as date) as period_start,
        count(case when is_active then 1 end) > 0 as was_active,
        sum(orders) as orders,
        sum(revenue) as revenue
    from daily
    group by user_id, cast({{ dbt.date_trunc(grain, 'activity_date') }} as date)
),

{{ grain }}_cohort_sizes as (
    select cohort_start, count(*) as cohort_users
    from {{ grain }}_members
    group by cohort_start
),

{{ grain }}_cohort_activity as (
    select
        members.cohort_start,
        user_periods.period_start,
        count(case when user_periods.was_active then 1 end) as retained_users,
        count(case when user_periods.orders > 0 then 1 end) as buyers,
        sum(user_periods.orders) as orders,
        sum(user_periods.revenue) as revenue
    from {{ grain }}_members as members
    inner join {{ grain }}_user_periods as user_periods
        on members.user_id = user_periods.user_id
        and user_periods.period_start >= members.cohort_start
    group by members.cohort_start, user_periods.period_start
),

{{ grain }}_grid as (
    select
        '{{ grain }}' as cohort_grain,
        sizes.cohort_start,
        cast(period_numbers.period_number as integer) as period_number,
        cast({{ dbt.dateadd(grain, 'period_numbers.period_number', 'sizes.cohort_start') }} as date) as period_start,
        {{ dbt.dateadd(grain, 'period_numbers.period_number + 1', 'sizes.cohort_start') }}
            <= {{ dbt.dateadd('day', 1, 'as_of.as_of_date') }} as is_complete_period,
        sizes.cohort_users
    from {{ grain }}_cohort_sizes as sizes
    cross join period_numbers
    cross join as_of
    where {{ dbt.dateadd(grain, 'period_numbers.period_number', 'sizes.cohort_start') }} <= as_of.as_of_date
),

{{ grain }}_retention as (
    select
        grid.*,
        coalesce(activity.retained_users, 0) as retained_users,
        coalesce(activity.buyers, 0) as buyers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue
    from {{ grain }}_grid as grid
    left join {{ grain }}_cohort_activity as activity
        on grid.cohort_start = activity.cohort_start
        and grid.period_start = activity.period_start
),
{%- endfor %}

cohort_periods as (
    {%- for grain in grains %}
    select * from {{ grain }}_retention{{ ' union all' if not loop.last }}
    {%- endfor %}
),

retention as (
    select
        cohort_grain,
        cohort_start,
        period_number,
        period_start,
        is_complete_period,
        cast(cohort_users as bigint) as cohort_users,
        cast(retained_users as bigint) as retained_users,
        {{ ratio('retained_users', 'cohort_users') }} as retention_rate,
        cast(buyers as bigint) as buyers,
        {{ ratio('buyers', 'cohort_users') }} as buyer_rate,
        cast(orders as bigint) as orders,
        {{ to_money('revenue') }} as revenue,
        {{ to_money('revenue / cohort_users') }} as revenue_per_user,
        {{ to_money(
            'sum(revenue) over (partition by cohort_grain, cohort_start order by period_number'
            ~ ' rows between unbounded preceding and current row) / cohort_users'
        ) }} as cumulative_revenue_per_user,
        as_of.as_of_date as as_of
    from cohort_periods
    cross join as_of
)

select * from retention
