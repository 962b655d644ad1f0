{#-
    Training features for purchase propensity: the same features as ml_features_score, as of
    T - H - k * step for k = 0 .. snapshots - 1 (T = the scoring day, H = the horizon), each one
    followed by a fully observed label window (ml_labels_train). Snapshots with less than
    ml_min_history_days of history before them are dropped; with too short a history the table is
    empty and the propensity asset falls back to a simple model.
-#}
{%- set horizon = int_var('propensity_horizon_days') -%}
{%- set step = int_var('propensity_snapshot_step_days') -%}
{%- set snapshots = int_var('propensity_train_snapshots') %}

with
{%- for k in range(snapshots) %}
snapshot_{{ k }} as (
    {{ user_features_as_of(dbt.dateadd('day', -(horizon + k * step), as_of_date())) | indent(4) }}
),
{%- endfor %}

history as (
    select {{ ml_history_start() }} as history_start
),

snapshots as (
    {%- for k in range(snapshots) %}
    select * from snapshot_{{ k }}{{ ' union all' if not loop.last }}
    {%- endfor %}
),

with_history as (
    select snapshots.*
    from snapshots
    cross join history
    where {{ dbt.datediff('history.history_start', 'snapshots.as_of_date', 'day') }} + 1
        >= {{ int_var('ml_min_history_days') }}
)

select * from with_history
