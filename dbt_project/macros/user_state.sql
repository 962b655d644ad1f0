{#-
    Per-user state models (int_user_activity, int_user_comebacks, int_user_category_interest):
    what a user's history sums to as of one day, kept from run to run so that a day costs the
    users it touches, not every user's history.

    A user's state depends only on that user's rollup rows up to as_of and on which of them fall
    in the 30/90/365-day windows. So between the previous run (its as_of is kept in every row) and
    this one, a user's state can only change if the user has a rollup row
      - in the run's partition window (days rebuilt from their partitions: new or re-landed),
      - on a day that entered or left one of the windows because as_of moved (either way),
    or had, in the previous state, a row on or after the window's first day (a re-landed day may
    have taken rows away). Those users (`refresh_users`) are recomputed from their whole history
    with the same SQL a full build runs; every other user's row is kept as it is. On DuckDB the
    models are incremental (delete+insert by user); a refreshed user left with no rows writes a
    tombstone (every column null but user_id) that the post-hook deletes. On Spark, whose
    Parquet tables cannot delete rows, they are plain tables rebuilt in full every run
    (dbt_project.yml, models/intermediate/state).
-#}

{#-
    CTEs `state_bounds` and `refresh_users` of an incremental run (needs the one-row CTE `as_of`).
    `rollups`: the daily rollups the state reads (columns user_id, activity_date); `last_day`: the
    state column holding the user's latest rollup day.
-#}
{% macro refresh_users_ctes(rollups, last_day) -%}
state_bounds as (
    select
        least(previous.as_of, as_of.as_of_date) as low_day,
        greatest(previous.as_of, as_of.as_of_date) as high_day
    from (
        select coalesce(max(as_of), cast('1900-01-01' as date)) as as_of from {{ this }}
    ) as previous
    cross join as_of
),

refresh_users as (
    {%- for rollup in rollups %}
    select rollup_rows.user_id
    from {{ rollup }} as rollup_rows
    cross join state_bounds
    where {{ in_partition_window('rollup_rows.activity_date') }}
        {%- for days in [0, 30, 90, 365] %}
        or (rollup_rows.activity_date > {{ dbt.dateadd('day', -days, 'state_bounds.low_day') }}
            and rollup_rows.activity_date <= {{ dbt.dateadd('day', -days, 'state_bounds.high_day') }})
        {%- endfor %}
    union
    {%- endfor %}
    select user_id
    from {{ this }}
    where {{ last_day }} >= {{ partition_start_date() }}
)
{%- endmacro %}


{#- `and <alias>.user_id is one of refresh_users` in an incremental run; nothing in a full build. -#}
{% macro and_refreshed(relation_alias) -%}
    {%- if is_incremental() %} and {{ relation_alias }}.user_id in (select user_id from refresh_users){% endif -%}
{%- endmacro %}


{#-
    The rows a state model writes: `state` as it is in a full build; in an incremental run one row
    per refreshed user at least, a user with nothing left getting a tombstone (all columns null but
    user_id), so that delete+insert removes what the user had.
-#}
{% macro state_rows(state_cte) -%}
    {%- if is_incremental() %}
    select refresh_users.user_id, {{ state_cte }}.* exclude (user_id)
    from refresh_users
    left join {{ state_cte }} on refresh_users.user_id = {{ state_cte }}.user_id
    {%- else %}
    select * from {{ state_cte }}
    {%- endif %}
{%- endmacro %}


{#-
    Post-hook of a state model (dbt_project.yml, models/intermediate/state): drop the tombstones
    (as_of is null only there), and move every kept row to this run's as_of.
-#}
{% macro finish_user_state() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where as_of is null;
        update {{ this }} set as_of = run_day.as_of_date
        from (select {{ as_of_date() }} as as_of_date) as run_day
        where {{ this }}.as_of <> run_day.as_of_date
    {%- endif -%}
{%- endmacro %}
