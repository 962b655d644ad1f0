{{ config(materialized='table') }}
{#-
    The tag catalog (dbt_project/tag_catalog.yml, through the generated macro tag_catalog()) as a
    table: one row per tag, retired ones included. Nothing but the catalog feeds it.
-#}

{%- set dimension_order = tag_dimensions() | map(attribute='dimension') | list -%}
{%- set dimension_names = {} -%}
{%- for dimension in tag_dimensions() -%}
    {%- do dimension_names.update({dimension.dimension: dimension.name_zh}) -%}
{%- endfor -%}
{%- set text = dbt.type_string() -%}
{%- set number = type_double() %}

with catalog as (
    {%- for tag in tag_catalog() %}
    {%- set listed = tag['values'] | map(attribute='value') | list %}
    {%- set allowed = (['<' ~ tag.values_from ~ '>'] if tag.values_from else []) + listed %}
    select
        {{ tag_literal(tag.code, text) }} as tag_code,
        {{ tag_literal(tag.name_en, text) }} as name_en,
        {{ tag_literal(tag.name_zh, text) }} as name_zh,
        {{ tag_literal(tag.dimension, text) }} as dimension,
        {{ tag_literal(dimension_names[tag.dimension], text) }} as dimension_zh,
        {{ dimension_order.index(tag.dimension) + 1 }} as dimension_order,
        {{ loop.index }} as tag_order,
        {{ tag_literal(tag.kind, text) }} as kind,
        {{ tag_literal(tag.value_type, text) }} as value_type,
        {{ tag_literal(allowed | join(' | ') if allowed else none, text) }} as allowed_values,
        {{ tag_literal(tag.values_from, text) }} as value_domain,
        {{ tag_literal(tag.range_min, number) }} as range_min,
        {{ tag_literal(tag.range_max, number) }} as range_max,
        {{ tag_literal(tag.multi_valued, 'boolean') }} as is_multi_valued,
        {{ tag_literal(tag.column, text) }} as profile_column,
        {{ tag_literal(tag.score, text) }} as score_definition,
        {{ tag_literal(tag.vars | join(', ') if tag.vars else none, text) }} as threshold_vars,
        {{ tag_literal(tag.tracked_in_history, 'boolean') }} as is_tracked_in_history,
        {{ tag_literal(tag.ml_table, text) }} as ml_table,
        {{ tag_literal(tag.definition, text) }} as definition,
        {{ tag_literal(tag.refresh, text) }} as refresh,
        {{ tag_literal(tag.owner, text) }} as owner,
        {{ tag_literal(tag.status, text) }} as status
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select * from catalog
