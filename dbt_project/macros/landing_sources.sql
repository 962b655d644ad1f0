{#-
    Spark reads the landing zone directly: the `raw` sources are views over the landed Parquet
    files (landing/<table>/date=YYYY-MM-DD/*.parquet), the same files the DuckDB loader copies
    into raw.<table>. A view re-lists its files on every query, so a newly landed or replaced day
    is visible without registering again; registering is needed once per catalog (and after the
    contract changes):

        dbt run-operation register_spark_sources --target spark     (also creates the ml tables)

    huaxiang (the CLI and the Dagster raw assets) does it for you. `_partition_date` is read from
    the file's `date=` folder, as the DuckDB loader does. A table with no landed file yet gets an
    empty view of the contract's columns (pass `landed`, the tables that have files; default all).

    The column list repeats huaxiang/contract.py (tests/test_spark_sources.py keeps them equal).
-#}

{% macro landing_contract() -%}
    {{ return({
        'users': [('user_id', 'string'), ('gender', 'string'), ('birth_date', 'date'), ('city', 'string'),
                  ('province', 'string'), ('city_tier', 'smallint'), ('registered_at', 'timestamp'),
                  ('register_channel', 'string'), ('phone', 'string'), ('email', 'string'),
                  ('marketing_consent', 'boolean'), ('updated_at', 'timestamp')],
        'products': [('product_id', 'string'), ('title', 'string'), ('category_l1', 'string'),
                     ('category_l2', 'string'), ('brand', 'string'), ('list_price', 'double'),
                     ('updated_at', 'timestamp')],
        'events': [('event_id', 'string'), ('user_id', 'string'), ('session_id', 'string'), ('event_type', 'string'),
                   ('product_id', 'string'), ('search_query', 'string'), ('platform', 'string'),
                   ('occurred_at', 'timestamp')],
        'orders': [('order_id', 'string'), ('user_id', 'string'), ('ordered_at', 'timestamp'), ('status', 'string'),
                   ('platform', 'string'), ('coupon_id', 'string'), ('gross_amount', 'double'),
                   ('discount_amount', 'double'), ('paid_amount', 'double')],
        'order_items': [('order_id', 'string'), ('product_id', 'string'), ('quantity', 'int'),
                        ('unit_price', 'double'), ('ordered_at', 'timestamp')],
        'campaigns': [('campaign_id', 'string'), ('name', 'string'), ('channel', 'string'), ('objective', 'string'),
                      ('starts_at', 'timestamp'), ('ends_at', 'timestamp'), ('cost_per_send', 'double')],
        'campaign_sends': [('send_id', 'string'), ('campaign_id', 'string'), ('user_id', 'string'),
                           ('variant', 'string'), ('sent_at', 'timestamp'), ('opened_at', 'timestamp'),
                           ('clicked_at', 'timestamp')],
        'reviews': [('review_id', 'string'), ('order_id', 'string'), ('user_id', 'string'), ('product_id', 'string'),
                    ('rating', 'smallint'), ('review_text', 'string'), ('created_at', 'timestamp')],
    }) }}
{%- endmacro %}


{#- Where the landing zone is, as the engine sees it: HUAXIANG_LANDING_URI (e.g. s3a://bucket/landing
    on a cluster), else $HUAXIANG_HOME/landing. -#}
{% macro landing_uri() -%}
    {%- set uri = env_var('HUAXIANG_LANDING_URI', '') -%}
    {%- if uri == '' -%}
        {%- set uri = env_var('HUAXIANG_HOME', './.huaxiang') ~ '/landing' -%}
    {%- endif -%}
    {%- if "'" in uri or '`' in uri -%}
        {{ exceptions.raise_compiler_error("landing URI '" ~ uri ~ "' must not contain quotes") }}
    {%- endif -%}
    {{ return(uri.rstrip('/')) }}
{%- endmacro %}


{#- The select of one raw table over its landed files (or an empty typed select when none landed). -#}
{% macro landing_select(table, has_files=true) -%}
    {%- set columns = landing_contract()[table] -%}
    {%- if has_files %}
    select
        {%- for name, sql_type in columns %}
        cast({{ name }} as {{ sql_type }}) as {{ name }},
        {%- endfor %}
        cast(regexp_extract(_metadata.file_path, 'date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date) as _partition_date
    from parquet.`{{ landing_uri() }}/{{ table }}/date=*/*.parquet`
    {%- else %}
    select
        {%- for name, sql_type in columns %}
        cast(null as {{ sql_type }}) as {{ name }},
        {%- endfor %}
        cast(null as date) as _partition_date
    where 1 = 0
    {%- endif %}
{%- endmacro %}


{% macro register_landing_sources(landed=none) -%}
    {{ return(adapter.dispatch('register_landing_sources', 'huaxiang')(landed)) }}
{%- endmacro %}

{#- DuckDB loads raw.<table> itself (huaxiang/warehouse.py): nothing to register. -#}
{% macro default__register_landing_sources(landed) -%}
    {{ log("register_landing_sources: nothing to do on " ~ adapter.type() ~ " (raw tables are loaded)", info=true) }}
{%- endmacro %}

{% macro spark__register_landing_sources(landed) -%}
    {%- set schema = source('raw', 'users').schema -%}
    {% do run_query('create schema if not exists ' ~ schema) %}
    {%- for table in landing_contract() %}
        {%- set has_files = landed is none or table in landed -%}
        {% do run_query('create or replace view ' ~ schema ~ '.' ~ table ~ ' as ' ~ landing_select(table, has_files)) %}
        {{ log('registered ' ~ schema ~ '.' ~ table ~ (' over ' ~ landing_uri() ~ '/' ~ table if has_files else ' (empty: nothing landed)'), info=true) }}
    {%- endfor %}
{%- endmacro %}


{#-
    The tables the ML assets write (source `ml`), created empty unless they exist, so the marts
    build before any model has run (as tests/dbt_fixtures.create_ml_tables does on DuckDB).
-#}
{% macro create_ml_source_tables() -%}
    {{ return(adapter.dispatch('create_ml_source_tables', 'huaxiang')()) }}
{%- endmacro %}

{% macro default__create_ml_source_tables() -%}
    {%- set tables = {
        'user_clusters': 'user_id string, cluster_id int, cluster_name string, cluster_name_zh string, '
                         ~ 'distance double, confidence double, as_of date, model_version string',
        'purchase_propensity': 'user_id string, score double, decile int, as_of date, horizon_days int, '
                               ~ 'model_version string, model_kind string',
        'user_recommendations': 'user_id string, rank int, product_id string, score double, source string, as_of date',
    } -%}
    {%- set schema = source('ml', 'user_clusters').schema -%}
    {% do run_query('create schema if not exists ' ~ schema) %}
    {%- for table, columns in tables.items() %}
        {% do run_query('create table if not exists ' ~ schema ~ '.' ~ table ~ ' (' ~ columns ~ ')') %}
    {%- endfor %}
{%- endmacro %}


{#- Everything a fresh Spark catalog needs before `dbt build`: the raw views and the ml tables. -#}
{% macro register_spark_sources(landed=none) -%}
    {% do register_landing_sources(landed) %}
    {% do create_ml_source_tables() %}
{%- endmacro %}
