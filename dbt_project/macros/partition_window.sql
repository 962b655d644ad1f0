{#-
    The run's business-day window: partition_start .. partition_end, inclusive.
    Incremental models delete the window from themselves first (pre-hook) and then append what the
    window holds now, so re-running a day replaces it and a day that became empty becomes empty.

    huaxiang's dbt steps hand the window over as environment variables (HUAXIANG_WINDOW_START /
    HUAXIANG_WINDOW_END); without them the vars of the same names apply (`--vars`, the open
    defaults of dbt_project.yml, unit-test overrides). Not `--vars` from the steps: dbt re-parses
    the whole project whenever its command-line vars change. The variables are read only when
    the SQL runs (`execute`): dbt re-parses every file that read an environment variable while
    parsing when its value changes, which the window does from one step and one day to the next
    (24 files, ~1.3 s a step). Parsing renders the SQL only for its refs and configs, and no
    config depends on the window.
-#}

{% macro partition_window_value(name) -%}
    {%- set variable = {'partition_start': 'HUAXIANG_WINDOW_START', 'partition_end': 'HUAXIANG_WINDOW_END'}[name] -%}
    {%- if execute -%}
        {{ return(env_var(variable, '') or var(name)) }}
    {%- endif -%}
    {{ return(var(name)) }}
{%- endmacro %}


{% macro partition_window_var(name) -%}
    {%- set value = partition_window_value(name) | string -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a YYYY-MM-DD date, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{% macro partition_start_date() -%}
    cast('{{ partition_window_var("partition_start") }}' as date)
{%- endmacro %}


{% macro partition_end_date() -%}
    cast('{{ partition_window_var("partition_end") }}' as date)
{%- endmacro %}


{% macro in_partition_window(column='_partition_date') -%}
    {%- if partition_window_var('partition_start') > partition_window_var('partition_end') -%}
        {{ exceptions.raise_compiler_error("partition_start is after partition_end") }}
    {%- endif -%}
    {{ column }} between {{ partition_start_date() }} and {{ partition_end_date() }}
{%- endmacro %}


{#- Pre-hook of every partition-incremental model: empty the window before appending it again. -#}
{% macro delete_partition_window(column='_partition_date') -%}
    {{ return(adapter.dispatch('delete_partition_window', 'huaxiang')(column)) }}
{%- endmacro %}

{#- DuckDB (delete+insert): delete the window's rows, then the `append` strategy inserts them again. -#}
{% macro default__delete_partition_window(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_partition_window(column) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Spark (Parquet tables cannot delete rows): the model is partitioned by `column` and written
    with insert_overwrite (dynamic partition overwrite), which replaces every day the window
    still has rows for; the days of the window that became empty are dropped here first. The
    drops run while the hook renders, so the hook itself is empty SQL (and skipped).
-#}
{% macro spark__delete_partition_window(column) -%}
    {%- if is_incremental() and execute -%}
        {%- set start = partition_window_var('partition_start') -%}
        {%- set end = partition_window_var('partition_end') -%}
        {%- for row in run_query('show partitions ' ~ this) -%}
            {%- set spec = row[0] | string -%}
            {%- set day = spec.split('=', 1)[1] if '=' in spec else '' -%}
            {%- if spec.startswith(column ~ '=') and start <= day <= end -%}
                {%- do run_query('alter table ' ~ this ~ ' drop if exists partition (' ~ column ~ " = date'" ~ day ~ "')") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#-
    Natural keys this incremental model already holds outside the window (none on a first or full
    build). A window row repeating one of them is a `duplicate`, so the clean model stays unique
    across partitions. `empty_from` only supplies column types for the empty result.
-#}
{% macro keys_outside_window(key_columns, empty_from) -%}
    {%- if is_incremental() %}
    select distinct {{ key_columns | join(', ') }}
    from {{ this }}
    where {% for column in key_columns %}{{ column }} is not null and {% endfor %}not ({{ in_partition_window() }})
    {%- else %}
    select {{ key_columns | join(', ') }}
    from {{ empty_from }}
    where 1 = 0
    {%- endif %}
{%- endmacro %}
