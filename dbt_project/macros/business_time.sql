{#-
    Raw timestamps are UTC (timestamp with time zone). The business works in one local time zone
    (var business_timezone, from HUAXIANG_TIMEZONE); days, hours and partitions are local.
-#}

{% macro business_timezone() -%}
    {%- set tz = var('business_timezone') | string -%}
    {%- if not modules.re.fullmatch('[A-Za-z0-9_+/-]+', tz) -%}
        {{ exceptions.raise_compiler_error("business_timezone '" ~ tz ~ "' is not a time zone name") }}
    {%- endif -%}
    {{ return(tz) }}
{%- endmacro %}


{#- Local wall-clock time (timestamp without time zone) of a UTC timestamp. -#}
{% macro to_business_time(column) -%}
    {{ return(adapter.dispatch('to_business_time', 'huaxiang')(column)) }}
{%- endmacro %}

{#- ANSI `at time zone` (DuckDB, Trino, Postgres); Spark needs from_utc_timestamp in a spark__ version. -#}
{% macro default__to_business_time(column) -%}
    cast({{ column }} at time zone '{{ business_timezone() }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- Spark: from_utc_timestamp gives the local wall clock (the session time zone is UTC, see profiles.yml). -#}
{% macro spark__to_business_time(column) -%}
    from_utc_timestamp({{ column }}, '{{ business_timezone() }}')
{%- endmacro %}


{% macro business_date(column) -%}
    cast({{ to_business_time(column) }} as date)
{%- endmacro %}


{#-
    A raw UTC timestamp as staging publishes it: `<column>_utc`, `<column>_local` (business time)
    and, when `day` names it, its business day.
-#}
{% macro business_times(column, day=none) -%}
    {{ column }} as {{ column }}_utc,
        {{ to_business_time(column) }} as {{ column }}_local
    {%- if day %},
        {{ business_date(column) }} as {{ day }}
    {%- endif %}
{%- endmacro %}


{#- A clean version's validity, from its `valid_from` timestamp to the next version's (null = current). -#}
{% macro version_validity(valid_from) -%}
    {{ valid_from }} as valid_from_utc,
        superseded_at as valid_to_utc,
        {{ business_date(valid_from) }} as valid_from_date,
        {{ business_date('superseded_at') }} as valid_to_date,
        is_current
{%- endmacro %}
