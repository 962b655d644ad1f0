{#-
    The day the facts, the marts and the scoring features are computed as of: var as_of_date, or
    when it is null the latest landed day — the latest activity day or user version, whichever is
    later. Every model of one build agrees on it.
-#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date') -%}
    {%- if value is none -%}
        (select max(day) from (
            select max(activity_date) as day from {{ ref('int_user_daily') }}
            union all select max(valid_from_date) as day from {{ ref('stg_users_versions') }}
        ) as landed_days)
    {%- else -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be null or a YYYY-MM-DD date, got '" ~ value ~ "'") }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}


{#- The version `versions_alias` (valid_from_date .. valid_to_date, null = current) is the one valid on `day`. -#}
{% macro version_valid_on(versions_alias, day) -%}
    {{ versions_alias }}.valid_from_date <= {{ day }}
        and ({{ versions_alias }}.valid_to_date is null or {{ versions_alias }}.valid_to_date > {{ day }})
{%- endmacro %}
