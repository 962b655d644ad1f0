{#-
    Rule-tag building blocks: scores and bands from ascending cut points (dbt vars, checked by
    cut_points_var, or for vars left `auto` the derived columns of cut_points_of — see
    tag_cut_points.sql), fixed demographic bands, and the RFM segment grid. docs/tags.md documents the
    resulting values; the catalog (tag_catalog.yml) declares which values each tag may take.
-#}

{#- 1 + how many cut points the value reaches (>=): a larger value scores higher. Null stays null. -#}
{% macro score_at_least(expression, cut_points) -%}
    case
        when {{ expression }} is null then null
    {%- for cut in cut_points | reverse %}
        when {{ expression }} >= {{ cut }} then {{ cut_points | length + 1 - loop.index0 }}
    {%- endfor %}
        else 1
    end
{%- endmacro %}


{#- 1 + how many cut points the value stays within (<=), counted from the top: a smaller value scores higher. -#}
{% macro score_at_most(expression, cut_points) -%}
    case
        when {{ expression }} is null then null
    {%- for cut in cut_points %}
        when {{ expression }} <= {{ cut }} then {{ cut_points | length + 1 - loop.index0 }}
    {%- endfor %}
        else 1
    end
{%- endmacro %}


{#- labels[i] for values below cut point i (and from cut point i - 1), labels[-1] from the last; null → `null_label`. -#}
{% macro band(expression, cut_points, labels, null_label='unknown') -%}
    {%- if labels | length != cut_points | length + 1 -%}
        {{ exceptions.raise_compiler_error("band needs one label more than cut points") }}
    {%- endif -%}
    case
        when {{ expression }} is null then {{ "'" ~ null_label ~ "'" if null_label is not none else 'null' }}
    {%- for cut in cut_points %}
        when {{ expression }} < {{ cut }} then '{{ labels[loop.index0] }}'
    {%- endfor %}
        else '{{ labels[-1] }}'
    end
{%- endmacro %}


{% macro age_band(age) -%}
    {{ band(age, [18, 25, 30, 35, 40, 50], ['under_18', '18_24', '25_29', '30_34', '35_39', '40_49', '50_plus']) }}
{%- endmacro %}


{% macro tenure_band(tenure_days) -%}
    {{ band(tenure_days, [30, 90, 365, 1095], ['under_1m', '1_3m', '3_12m', '1_3y', '3y_plus']) }}
{%- endmacro %}


{#- City tier 1-5 (一线, 新一线, 二线, 三线, 四线及以下) as a code. -#}
{% macro city_tier_label(city_tier) -%}
    case {{ city_tier }}
        when 1 then 'tier_1'
        when 2 then 'new_tier_1'
        when 3 then 'tier_2'
        when 4 then 'tier_3'
        when 5 then 'tier_4_below'
        else 'unknown'
    end
{%- endmacro %}


{#-
    The classic RFM segments on a grid of R (1-5) × FM, the mean of F and M rounded half up.
    Rules are tried in order, first match wins; together they cover all 25 cells exactly once
    (the unit test user_profile_rfm_segments walks the grid).
-#}
{% macro rfm_segment_rules() -%}
    {{ return([
        {'segment': 'champions',          'r': [5, 5], 'fm': [4, 5]},
        {'segment': 'loyal_customers',    'r': [3, 4], 'fm': [4, 5]},
        {'segment': 'potential_loyalist', 'r': [4, 5], 'fm': [2, 3]},
        {'segment': 'new_customers',      'r': [5, 5], 'fm': [1, 1]},
        {'segment': 'promising',          'r': [4, 4], 'fm': [1, 1]},
        {'segment': 'need_attention',     'r': [3, 3], 'fm': [3, 3]},
        {'segment': 'about_to_sleep',     'r': [3, 3], 'fm': [1, 2]},
        {'segment': 'cant_lose',          'r': [1, 2], 'fm': [5, 5]},
        {'segment': 'at_risk',            'r': [1, 2], 'fm': [3, 4]},
        {'segment': 'hibernating',        'r': [2, 2], 'fm': [1, 2]},
        {'segment': 'lost',               'r': [1, 1], 'fm': [1, 2]},
    ]) }}
{%- endmacro %}


{% macro rfm_fm(f_score, m_score) -%}
    cast(floor(({{ f_score }} + {{ m_score }}) / 2.0 + 0.5) as integer)
{%- endmacro %}


{#- Segment of R, F and M scores; null scores (never ordered) → no_purchase. -#}
{% macro rfm_segment(r_score, f_score, m_score) -%}
    {%- set fm = rfm_fm(f_score, m_score) -%}
    case
        when {{ r_score }} is null or {{ f_score }} is null or {{ m_score }} is null then 'no_purchase'
    {%- for rule in rfm_segment_rules() %}
        when {{ r_score }} between {{ rule.r[0] }} and {{ rule.r[1] }}
            and {{ fm }} between {{ rule.fm[0] }} and {{ rule.fm[1] }} then '{{ rule.segment }}'
    {%- endfor %}
    end
{%- endmacro %}


{#- A catalog value as a SQL literal of `sql_type` (strings escaped; none → a typed null). -#}
{% macro tag_literal(value, sql_type) -%}
    {%- if value is none -%}
        cast(null as {{ sql_type }})
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        cast({{ value }} as {{ sql_type }})
    {%- else -%}
        cast('{{ dbt.escape_single_quotes(value) }}' as {{ sql_type }})
    {%- endif -%}
{%- endmacro %}


{#- Tags user_tags emits: every catalog tag but the retired ones. -#}
{% macro emitted_tags() -%}
    {{ return(tag_catalog() | rejectattr('status', 'equalto', 'retired') | list) }}
{%- endmacro %}


{#- A query of the values a value domain (tag_catalog.yml value_domains) holds now, in a column `tag_value`. -#}
{% macro tag_value_domain_sql(domain) -%}
    {%- if domain == 'product_category_l1' -%}
        select distinct category_l1 as tag_value from {{ ref('stg_products_versions') }} where category_l1 is not null
    {%- elif domain == 'product_category_l2' -%}
        select distinct category_l2 as tag_value from {{ ref('stg_products_versions') }} where category_l2 is not null
    {%- elif domain == 'ml_cluster_name' -%}
        select distinct cluster_name as tag_value from {{ source('ml', 'user_clusters') }} where cluster_name is not null
    {%- else -%}
        {{ exceptions.raise_compiler_error("value domain '" ~ domain ~ "' has no query in macro tag_value_domain_sql") }}
    {%- endif -%}
{%- endmacro %}


{#- A tag's user_profile column as user_tags.tag_value text: booleans 'true'/'false', integers cast,
    numbers as number_as_text. -#}
{% macro tag_value_as_text(tag) -%}
    {%- if tag.value_type == 'boolean' -%}
        {{ dbt.cast_bool_to_text(tag.column) }}
    {%- elif tag.value_type == 'integer' -%}
        cast({{ tag.column }} as {{ dbt.type_string() }})
    {%- elif tag.value_type == 'number' -%}
        {{ number_as_text(tag.column) }}
    {%- else -%}
        {{ tag.column }}
    {%- endif -%}
{%- endmacro %}
