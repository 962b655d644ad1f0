{{ config(materialized='table') }}
{#-
    Why a user carries a score or band: every boundary the rule tags were cut with as of one
    business day, one row per threshold var and cut point — the value, whether it was derived from
    this shop's distribution (var `auto`, the default) or fixed in dbt_project.yml, and what it
    was derived from ("20th percentile of recency_days over 1234 buyers"). user_profile reads its
    derived scores and bands from here (tag_cut_points_pivot), so the mart and the tags agree by
    construction. How each var is derived: macro tag_cut_point_specs and fct_lifecycle_thresholds.
-#}

{%- set specs = tag_cut_point_specs() -%}

with lifecycle as (
    select * from {{ ref('fct_lifecycle_thresholds') }}
),

facts as (
    select * from {{ ref('fct_user_facts') }}
),
{% for spec in specs if is_auto_var(spec.var) %}

-- {{ spec.var }}: {{ spec.method }} of {{ spec.metric }} over {{ spec.population }}.
{{ spec.var }}__quantiles as (
    select
        count(*) as population
        {%- for level in spec.levels %},
        {% if level is none -%}
        cast(null as decimal(18, 2))
        {%- else -%}
        cast({{ quantile_disc(spec.metric, level) }} as decimal(18, 2))
        {%- endif %} as quantile_{{ loop.index }}
        {%- endfor %}
    from facts
    where {{ spec.population_filter }}
),

-- Cut points from the quantiles; when ties collapse two of them, the later one is raised one step
-- above the earlier, so they stay ascending and the scores still spread.
{%- set cut_sql = [] %}
{%- for level in spec.levels %}
    {%- if level is none %}
        {%- set raw = 'cast(' ~ spec.first ~ ' as decimal(18, 2))' %}
    {%- elif spec.bound == 'at_most' %}
        {%- set raw = 'quantile_' ~ loop.index %}
    {%- else %}
        {%- set raw = '(quantile_' ~ loop.index ~ ' + ' ~ spec.step ~ ')' %}
    {%- endif %}
    {%- do cut_sql.append(raw if loop.first else 'greatest(' ~ raw ~ ', ' ~ cut_sql[-1] ~ ' + ' ~ spec.step ~ ')') %}
{%- endfor %}
{{ spec.var }}__cuts as (
    select
        population
        {%- for level in spec.levels %},
        quantile_{{ loop.index }},
        cast({{ cut_sql[loop.index0] }} as decimal(18, 2)) as cut_{{ loop.index }},
        {% if loop.first or level is none -%} false {%- else -%}
        {{ cut_sql[loop.index0] }} > {{ '(quantile_' ~ loop.index ~ ' + ' ~ spec.step ~ ')' if spec.bound == 'at_least' else 'quantile_' ~ loop.index }}
        {%- endif %} as is_raised_{{ loop.index }}
        {%- endfor %}
    from {{ spec.var }}__quantiles
),
{%- endfor %}

cut_points as (
{%- for spec in specs %}
    {%- set fixed = auto_cut_points_var(spec.var, spec.levels | length) %}
    {%- set comparison = '<=' if spec.bound == 'at_most' else '>=' %}
    {%- for level in spec.levels %}
    {%- set index = loop.index %}
    select
        '{{ spec.tag }}' as tag_code,
        '{{ spec.var }}' as threshold_var,
        {{ index }} as cut_point_index,
        '{{ spec.tag_values[loop.index0] }}' as tag_value,
        '{{ spec.metric }}' as metric,
        '{{ comparison }}' as comparison,
        {%- if fixed is not none %}
        cast({{ fixed[loop.index0] }} as decimal(18, 2)) as cut_point,
        'fixed' as method,
        cast(null as {{ type_double() }}) as quantile_level,
        cast(null as decimal(18, 2)) as quantile_value,
        cast(null as bigint) as population,
        'fixed in dbt_project.yml (var {{ spec.var }})' as derived_from
    {%- elif level is none %}
        cut_{{ index }} as cut_point,
        'fixed' as method,
        cast(null as {{ type_double() }}) as quantile_level,
        cast(null as decimal(18, 2)) as quantile_value,
        cast(null as bigint) as population,
        'fixed by the tag definition (the values below it have a band of their own)' as derived_from
    {%- else %}
        {%- set level_name = 'median' if level == 0.5 else ((level * 100) | round | int) ~ 'th percentile' %}
        cut_{{ index }} as cut_point,
        'derived' as method,
        cast({{ level }} as {{ type_double() }}) as quantile_level,
        quantile_{{ index }} as quantile_value,
        cast(population as bigint) as population,
        case
            when population = 0 then 'no {{ spec.population }} to derive from: no user reaches it'
            else {{ dbt.concat([
                "'" ~ ('first value above the ' if spec.bound == 'at_least' else '') ~ level_name ~ " ('",
                number_as_text('quantile_' ~ index),
                "') of " ~ spec.metric ~ " over '",
                dbt.cast('population', dbt.type_string()),
                "' " ~ spec.population ~ " (" ~ spec.population_filter ~ ")'",
                "case when is_raised_" ~ index ~ " then '; raised one step above the previous cut point (ties)' else '' end",
            ]) }}
        end as derived_from
    {%- endif %}
    from {{ spec.var ~ '__cuts' if is_auto_var(spec.var) else 'lifecycle' }}
    union all
    {%- endfor %}
{%- endfor %}
{#- Lifecycle stage: fct_lifecycle_thresholds chose the days. #}
{%- set lifecycle_rows = [
    ('lifecycle_silent_days', 'silent', 'days_inactive', '>', 'silent_days', 0.5),
    ('lifecycle_churned_days', 'churned', 'days_inactive', '>', 'churned_days', 0.9),
    ('lifecycle_reactivated_days', 'reactivated', 'days_since_comeback', '<', 'reactivated_days', none),
    ('lifecycle_new_days', 'new', 'tenure_days', '<', 'new_days', none),
] %}
{%- for var_name, value, metric, comparison, column, level in lifecycle_rows %}
    select
        'lifecycle_stage' as tag_code,
        '{{ var_name }}' as threshold_var,
        {{ loop.index }} as cut_point_index,
        '{{ value }}' as tag_value,
        '{{ metric }}' as metric,
        '{{ comparison }}' as comparison,
        cast({{ column }} as decimal(18, 2)) as cut_point,
        {%- if column == 'new_days' %}
        'fixed' as method,
        cast(null as {{ type_double() }}) as quantile_level,
        cast(null as decimal(18, 2)) as quantile_value,
        cast(null as bigint) as population,
        'fixed in dbt_project.yml (var {{ var_name }})' as derived_from
        {%- elif level is none %}
        case when {{ column }}_method = 'fixed' then 'fixed' else 'derived' end as method,
        cast(null as {{ type_double() }}) as quantile_level,
        cast(null as decimal(18, 2)) as quantile_value,
        cast(null as bigint) as population,
        case
            when {{ column }}_method = 'fixed' then 'fixed in dbt_project.yml (var {{ var_name }})'
            else 'the silent threshold: back, within that many days, from a silent gap'
        end as derived_from
        {%- else %}
        {%- set level_name = 'median' if level == 0.5 else ((level * 100) | round | int) ~ 'th percentile' %}
        {{ column }}_method as method,
        case when {{ column }}_method = 'fixed' then null else cast({{ level }} as {{ type_double() }}) end
            as quantile_level,
        case when {{ column }}_method = 'fixed' then null else cast(gap_{{ 'p50' if level == 0.5 else 'p90' }}_days as decimal(18, 2)) end
            as quantile_value,
        case when {{ column }}_method = 'fixed' then null else purchase_gaps end as population,
        case {{ column }}_method
            when 'fixed' then 'fixed in dbt_project.yml (var {{ var_name }})'
            else {{ dbt.concat([
                "case when " ~ column ~ "_method = 'floor' then 'floor (var " ~ var_name ~ "_floor); ' else '' end",
                "'" ~ level_name ~ " ('",
                "coalesce(" ~ dbt.cast('gap_' ~ ('p50' if level == 0.5 else 'p90') ~ '_days', dbt.type_string()) ~ ", 'none')",
                "') of '",
                dbt.cast('purchase_gaps', dbt.type_string()),
                "' gaps in days between consecutive purchase days of '",
                dbt.cast('repeat_buyers', dbt.type_string()),
                "' repeat buyers, ended in the 365 days to as_of'",
            ]) }}
        end as derived_from
        {%- endif %}
    from lifecycle
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
),

final as (
    select
        lifecycle.as_of,
        cut_points.tag_code,
        cut_points.threshold_var,
        cast(cut_points.cut_point_index as integer) as cut_point_index,
        cut_points.tag_value,
        cut_points.metric,
        cut_points.comparison,
        cut_points.cut_point,
        {{ dbt.concat([
            'cut_points.tag_code', "' = '", 'cut_points.tag_value', "' when '", 'cut_points.metric', "' '",
            'cut_points.comparison', "' '", "coalesce(" ~ number_as_text('cut_points.cut_point') ~ ", 'none')",
        ]) }} as rule,
        cut_points.method,
        cut_points.quantile_level,
        cut_points.quantile_value,
        cut_points.population,
        cut_points.derived_from
    from cut_points
    cross join lifecycle
)

select * from final
