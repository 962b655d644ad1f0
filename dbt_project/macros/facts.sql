{#- Helpers of the user-facts layer (models/intermediate): var readers, weekdays, ratios. -#}

{#- A var that must be a non-negative integer (a number of days, orders …). -#}
{% macro integer_var(name) -%}
    {%- set value = var(name) -%}
    {%- if not modules.re.fullmatch('[0-9]+', value | string) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a non-negative integer, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}


{#- A var that must be a number. -#}
{% macro number_var(name) -%}
    {%- set value = var(name) -%}
    {%- if not modules.re.fullmatch('-?[0-9]+(\.[0-9]+)?', value | string) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a number, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | float) }}
{%- endmacro %}


{#- A var that must be a strictly ascending list of numbers (cut points of a score or band). -#}
{% macro cut_points_var(name, length) -%}
    {%- set values = var(name) -%}
    {%- set ns = namespace(ok=(values is sequence and values is not string and values | length == length)) -%}
    {%- if ns.ok -%}
        {%- for value in values -%}
            {%- if not modules.re.fullmatch('-?[0-9]+(\.[0-9]+)?', value | string)
                or (not loop.first and (value | float) <= (values[loop.index0 - 1] | float)) -%}
                {%- set ns.ok = false -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not ns.ok -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be " ~ length ~ " ascending numbers, got '" ~ values ~ "'") }}
    {%- endif -%}
    {{ return(values) }}
{%- endmacro %}


{#- Weekday codes in ISO order (Monday = 1). -#}
{% macro weekdays() -%}
    {{ return(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) }}
{%- endmacro %}


{#- ISO day of the week of a date: 1 = Monday … 7 = Sunday. -#}
{% macro iso_weekday(date_expression) -%}
    {{ return(adapter.dispatch('iso_weekday', 'huaxiang')(date_expression)) }}
{%- endmacro %}

{#- ANSI-style extract (DuckDB, Postgres, Trino); Spark needs a spark__ version (dayofweek is 1 = Sunday). -#}
{% macro default__iso_weekday(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}


{#- Spark's dayofweek is 1 = Sunday … 7 = Saturday. -#}
{% macro spark__iso_weekday(date_expression) -%}
    cast(((dayofweek({{ date_expression }}) + 5) % 7) + 1 as integer)
{%- endmacro %}


{#- Rows of a daily rollup (alias `relation_alias`, joined to the one-row CTE `as_of`) in the `days` days ending on as_of. -#}
{% macro in_trailing_days(relation_alias, days) -%}
    {{ relation_alias }}.activity_date <= as_of.as_of_date
    and {{ dbt.datediff(relation_alias ~ '.activity_date', 'as_of.as_of_date', 'day') }} < {{ days }}
{%- endmacro %}


{#- A daily rollup's rows of the trailing `days` ending on the as-of day (CTE `as_of`), of the users a run refreshes. -#}
{% macro trailing_rows(relation, relation_alias, days) -%}
    select {{ relation_alias }}.*
    from {{ relation }} as {{ relation_alias }}
    cross join as_of
    where {{ in_trailing_days(relation_alias, days) }}{{ and_refreshed(relation_alias) }}
{%- endmacro %}


{#- Each column summed over the rollup's group, as a bigint of the same name. -#}
{% macro summed_counts(columns) -%}
    {%- for column in columns -%}
        cast(sum({{ column }}) as bigint) as {{ column }}{% if not loop.last %},
        {% endif %}
    {%- endfor -%}
{%- endmacro %}
