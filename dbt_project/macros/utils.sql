{#- Small helpers every layer shares: ratios, types, integer vars. -#}

{#- numerator / denominator as a double; null when the denominator is 0 or null. -#}
{% macro ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}


{#-
    An integer var (a window length, a count, a threshold) of at least `minimum`, checked when the
    model compiles. Its default is in dbt_project.yml, which the Python side reads too.
-#}
{% macro int_var(name, minimum=0) -%}
    {%- set value = var(name) -%}
    {%- set text = value | string -%}
    {%- if value is sameas true or value is sameas false or not modules.re.fullmatch('-?[0-9]+', text)
        or text | int < minimum -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be an integer >= " ~ minimum ~ ", got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(text | int) }}
{%- endmacro %}


{#- Double precision floating point (dbt.type_float() is single precision on some adapters). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'huaxiang')()) }}
{%- endmacro %}

{#- DuckDB, Spark, Trino; Postgres needs `double precision` in a postgres__ version. -#}
{% macro default__type_double() -%}
    {{ return('double') }}
{%- endmacro %}


{#- A number as the same text on every engine: rounded to 6 decimals, no exponent, no trailing
    zeros (0.000332, 0.5, 12). A plain cast prints doubles per engine: DuckDB 0.00033208…,
    Spark 3.3208…E-4. A decimal with 6 decimals prints without exponent on both. -#}
{% macro number_as_text(expression) -%}
    regexp_replace(
        regexp_replace(cast(cast({{ expression }} as decimal(38, 6)) as {{ dbt.type_string() }}), '0+$', ''),
        '[.]$',
        ''
    )
{%- endmacro %}


{#- The text as a double, null when it is not a number. -#}
{% macro text_to_double(expression) -%}
    {{ return(adapter.dispatch('text_to_double', 'huaxiang')(expression)) }}
{%- endmacro %}

{% macro default__text_to_double(expression) -%}
    {{ dbt.safe_cast(expression, type_double()) }}
{%- endmacro %}

{#- dbt-duckdb's safe_cast is a plain cast, which fails on text. -#}
{% macro duckdb__text_to_double(expression) -%}
    try_cast({{ expression }} as double)
{%- endmacro %}
