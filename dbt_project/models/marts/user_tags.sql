{{ config(materialized='table') }}
{#-
    The tags in long form: one row per user, tag and value (multi-valued tags, e.g.
    category_affinity, have a row per value). Unpivoted from user_profile for every catalog tag
    that is not retired (tag_catalog() — the column named by the tag, the score named by its
    score_column); a null tag value is no row. Values are text: booleans 'true'/'false', integers
    cast, other numbers as number_as_text (the same text on every engine). score is numeric where
    the catalog defines one.
-#}

{%- set text = dbt.type_string() -%}
{%- set number = type_double() -%}
{#- Multi-valued tags come from their own long source, keyed by the tag code. -#}
{%- set multi_valued_sources = {
    'category_affinity': {
        'relation': ref('fct_user_category_shares'),
        'value': 'category',
        'score': 'interest_share',
        'where': 'is_affinity',
    },
} %}

with profile as (
    select * from {{ ref('user_profile') }}
),

single_valued as (
    {%- for tag in emitted_tags() | rejectattr('multi_valued') %}
    select
        user_id,
        {{ tag_literal(tag.code, text) }} as tag_code,
        {{ tag_value_as_text(tag) }} as tag_value,
        {{ 'cast(' ~ tag.score_column ~ ' as ' ~ number ~ ')' if tag.score_column else tag_literal(none, number) }}
            as score,
        as_of
    from profile
    where {{ tag.column }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

multi_valued as (
    {%- for tag in emitted_tags() | selectattr('multi_valued') %}
    {%- if tag.code not in multi_valued_sources -%}
        {{ exceptions.raise_compiler_error("multi-valued tag '" ~ tag.code ~ "' has no source in user_tags.sql") }}
    {%- endif %}
    {%- set source = multi_valued_sources[tag.code] %}
    select
        long_source.user_id,
        {{ tag_literal(tag.code, text) }} as tag_code,
        long_source.{{ source.value }} as tag_value,
        cast(long_source.{{ source.score }} as {{ number }}) as score,
        profile.as_of
    from {{ source.relation }} as long_source
    inner join profile on long_source.user_id = profile.user_id
    where long_source.{{ source.where }}
    {{ 'union all' if not loop.last }}
    {%- else %}
    select user_id, {{ tag_literal(none, text) }}, {{ tag_literal(none, text) }}, {{ tag_literal(none, number) }}, as_of
    from profile
    where 1 = 0
    {%- endfor %}
),

tags as (
    select * from single_valued
    union all
    select * from multi_valued
)

select * from tags
