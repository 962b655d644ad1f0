{#-
    Data tests of day-by-day tables read the run's window only.

    Every generic test reads its model through dbt's `get_where_subquery` (rendered when the test
    runs, not when the project is parsed). For the tables below — rows that belong to the day they
    landed, which a run rebuilds for its window and never touches outside it — it also keeps the
    rows of the window (partition_start .. partition_end, see partition_window_value), so a daily
    run tests the day it built, not the whole history again. The days outside were tested when
    they were built; rows that repeat a key from another day are classified `duplicate` by
    staging, so uniqueness within the window is uniqueness overall. A full build (the open
    default window) and a backfill test everything they built. Entity tables (users, products,
    campaigns, whose versions close earlier ones) and the per-user facts are always tested whole.
-#}

{% macro window_scoped_tables() -%}
    {%- set tables = {} -%}
    {%- for table in ['events', 'orders', 'order_items', 'campaign_sends', 'reviews'] -%}
        {%- for suffix in ['', '_classified', '_rejected'] -%}
            {%- do tables.update({'stg_' ~ table ~ suffix: '_partition_date'}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for rollup in ['int_user_daily', 'int_product_daily', 'int_user_category_daily', 'int_user_brand_daily',
                       'int_user_channel_daily', 'int_user_product_daily'] -%}
        {%- do tables.update({rollup: 'activity_date'}) -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}


{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set window_column = window_scoped_tables().get(relation.identifier) if relation.identifier is defined else none -%}
    {%- set conditions = [] -%}
    {#- Only when the test runs: at parse time the window is not known (and must not be read). -#}
    {%- if window_column and execute -%}
        {%- do conditions.append(in_partition_window(window_column)) -%}
    {%- endif -%}
    {#- dbt's own form when there is no window: `where <config>`. Not `where (<config>)`, which
        Spark reads as a table alias `where` with a column list. -#}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')' if conditions else where) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
