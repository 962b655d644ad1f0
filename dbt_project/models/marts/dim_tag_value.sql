{{ config(materialized='table') }}
{#-
    Every value a tag may take, one row per tag and value: the values the catalog lists (with
    their Chinese labels; booleans as 'true'/'false') and, for text tags, the values their domain
    holds now (catalog categories, cluster names), labelled by themselves. Integer and number tags
    have a range instead (dim_tag). The user_tags checks compare emitted values with this table.
-#}

{%- set text = dbt.type_string() %}

with listed_values as (
    {%- set ns = namespace(first=true) %}
    {%- for tag in tag_catalog() %}
    {%- for value in tag['values'] %}
    {{ '' if ns.first else 'union all' }}
    select
        {{ tag_literal(tag.code, text) }} as tag_code,
        {{ tag_literal(value.value, text) }} as tag_value,
        {{ tag_literal(value.name_zh, text) }} as name_zh,
        {{ loop.index }} as value_order,
        false as is_domain_value
    {%- set ns.first = false %}
    {%- endfor %}
    {%- endfor %}
),

domain_values as (
    {%- set domain_tags = tag_catalog() | selectattr('values_from') | list %}
    {%- for tag in domain_tags %}
    select
        {{ tag_literal(tag.code, text) }} as tag_code,
        domain.tag_value,
        domain.tag_value as name_zh,
        {{ tag['values'] | length }} + cast(row_number() over (order by domain.tag_value) as integer) as value_order,
        true as is_domain_value
    from ({{ tag_value_domain_sql(tag.values_from) }}) as domain
    {%- if tag['values'] %}
    where domain.tag_value not in (
        {%- for value in tag['values'] %}{{ tag_literal(value.value, text) }}{{ ', ' if not loop.last }}{% endfor -%}
    )
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

tag_values as (
    select * from listed_values
    union all
    select * from domain_values
)

select * from tag_values
