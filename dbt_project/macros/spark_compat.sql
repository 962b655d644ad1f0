{#-
    Spark spellings of the types the model contracts (models/**/_*.yml) declare in DuckDB terms:
    Spark has no unsized `varchar` (it is `string`) and its `timestamp` is the instant type that
    DuckDB calls `timestamp with time zone`. dbt builds the contract's empty schema query with
    get_empty_schema_sql; this version translates the declared type first.
-#}
{% macro spark_type(data_type) -%}
    {%- set normalized = data_type | trim | lower -%}
    {%- set aliases = {
        'varchar': 'string',
        'text': 'string',
        'timestamp with time zone': 'timestamp',
        'timestamptz': 'timestamp',
    } -%}
    {{ return(aliases.get(normalized, data_type)) }}
{%- endmacro %}


{% macro spark__get_empty_schema_sql(columns) %}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() if columns[name].copy is defined else dict(columns[name]) -%}
        {%- if column.get('data_type') is not none -%}
            {%- do column.update({'data_type': spark_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{% endmacro %}


{#-
    dbt-spark's dateadd multiplies the interval without parentheses (`n + 1 * 7` for weeks) and
    goes through unix seconds; timestampadd (Spark ≥ 3.3) adds calendar units to a date or a
    timestamp (a timestamp result, like DuckDB's date + interval) and keeps nulls null.
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart | lower not in ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart '" ~ datepart ~ "' is not supported on Spark") }}
    {%- endif -%}
    timestampadd({{ datepart | upper }}, cast(({{ interval }}) as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}


{#-
    dbt-spark's listagg ignores order_by_clause (collect_list has no order). Collect (sort key,
    value) pairs and sort them instead, so the text is the same as DuckDB's string_agg … order by.
    Ascending single-expression keys only; like string_agg, nulls are skipped and no value is null.
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg: limit_num is not supported by the huaxiang Spark version") }}
    {%- endif -%}
    {%- if order_by_clause -%}
        {%- set key = order_by_clause | trim -%}
        {%- if not key.lower().startswith('order by ') or ',' in key or key.lower().endswith(' desc') -%}
            {{ exceptions.raise_compiler_error("listagg on Spark: one ascending order by key expected, got '" ~ order_by_clause ~ "'") }}
        {%- endif -%}
        {%- set key = key[9:] | replace(' asc', '') | replace(' ASC', '') -%}
        case when count({{ measure }}) > 0 then array_join(transform(
            array_sort(collect_list(case when ({{ measure }}) is not null
                then named_struct('k', {{ key }}, 'v', cast({{ measure }} as string)) end)),
            x -> x.v), {{ delimiter_text }}) end
    {%- else -%}
        case when count({{ measure }}) > 0 then array_join(collect_list(cast({{ measure }} as string)), {{ delimiter_text }}) end
    {%- endif -%}
{%- endmacro %}


{#-
    A decimal quotient's type: DuckDB divides decimals into a double, Spark keeps a decimal with
    a computed scale. Wrapping an operand of a division that must give a double in this macro
    keeps the DuckDB SQL unchanged and gives Spark the double.
-#}
{% macro decimal_as_double(expression) -%}
    {{ return(adapter.dispatch('decimal_as_double', 'huaxiang')(expression)) }}
{%- endmacro %}

{% macro default__decimal_as_double(expression) -%}
    {{ return(expression) }}
{%- endmacro %}

{% macro spark__decimal_as_double(expression) -%}
    {{ return('cast(' ~ expression ~ ' as double)') }}
{%- endmacro %}
