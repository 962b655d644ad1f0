{#-
    The label of each training row of ml_features_train: at least one paid order in the
    H days after its as-of day, (as_of, as_of + H]. Only rollup rows after the as-of day are
    read here, and the features never read them.
-#}
{%- set horizon = int_var('propensity_horizon_days') %}

with training_rows as (
    select user_id, as_of_date
    from {{ ref('ml_features_train') }}
),

label_window as (
    select
        user_id,
        as_of_date,
        cast({{ dbt.dateadd('day', horizon, 'as_of_date') }} as date) as label_end_date
    from training_rows
),

labels as (
    select
        label_window.user_id,
        label_window.as_of_date,
        label_window.label_end_date,
        {{ horizon }} as horizon_days,
        cast(coalesce(sum(daily.orders), 0) as integer) as paid_orders,
        coalesce(sum(daily.orders), 0) > 0 as purchased
    from label_window
    left join {{ ref('int_user_daily') }} as daily
        on label_window.user_id = daily.user_id
        and daily.activity_date > label_window.as_of_date
        and daily.activity_date <= label_window.label_end_date
    group by label_window.user_id, label_window.as_of_date, label_window.label_end_date
)

select * from labels
