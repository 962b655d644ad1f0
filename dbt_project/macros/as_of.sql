{#-
    The day marts are computed as of: var as_of_date, or when it is null the latest landed day —
    the latest activity day or user version, whichever is later. `latest_days_sql` is a query
    returning candidate days in a column named `day`.
-#}
{% macro as_of_date(latest_days_sql) -%}
    {%- set value = var('as_of_date') -%}
    {%- if value is none -%}
        (select max(day) from ({{ latest_days_sql }}) as landed_days)
    {%- else -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
            {{ exceptions.raise_compiler_error("var as_of_date must be null or a YYYY-MM-DD date, got '" ~ value ~ "'") }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}
