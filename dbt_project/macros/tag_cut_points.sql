{#-
    Cut points that adapt to the shop (docs/tags.md, "How the thresholds are chosen"). A threshold
    var set to `auto` (the default) is derived from the shop's own distribution as of the run's
    day; a number or a list fixes it. Derived values are computed once, in
    facts.fct_lifecycle_thresholds (lifecycle days) and marts.tag_cut_points (scores and bands),
    and read from there by fct_user_facts and user_profile, so the mart a BI user reads holds the
    very numbers the tags were cut with.
-#}

{#- True when the var asks for a derived value. -#}
{% macro is_auto_var(name) -%}
    {{ return((var(name) | string | trim | lower) == 'auto') }}
{%- endmacro %}


{#- An integer var that may be `auto`: none for auto, else the validated integer. -#}
{% macro auto_integer_var(name) -%}
    {%- if is_auto_var(name) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(integer_var(name)) }}
{%- endmacro %}


{#- A cut-point var that may be `auto`: none for auto, else the validated ascending list. -#}
{% macro auto_cut_points_var(name, length) -%}
    {%- if is_auto_var(name) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(cut_points_var(name, length)) }}
{%- endmacro %}


{#-
    The cut points to cut a tag with: the fixed list of the var, or for `auto` the columns
    `<relation_alias>.<var>_<i>` of a one-row pivot of marts.tag_cut_points (tag_cut_points_pivot).
-#}
{% macro cut_points_of(name, length, relation_alias='cut_points') -%}
    {%- set fixed = auto_cut_points_var(name, length) -%}
    {%- if fixed is not none -%}
        {{ return(fixed) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for index in range(1, length + 1) -%}
        {%- do columns.append(relation_alias ~ '.' ~ name ~ '_' ~ index) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#-
    One row holding every derived cut point of `relation` (a ref to tag_cut_points) as a column
    `<var>_<i>`. An aggregate without group by: exactly one row even when the mart is empty, so a
    cross join never drops users (the cut points are then null and nobody reaches a boundary).
-#}
{% macro tag_cut_points_pivot(relation) -%}
    select
        count(*) as cut_point_rows
        {%- for spec in tag_cut_point_specs() if is_auto_var(spec.var) %}
        {%- for index in range(1, spec.levels | length + 1) %},
        max(case when threshold_var = '{{ spec.var }}' and cut_point_index = {{ index }} then cut_point end)
            as {{ spec.var }}_{{ index }}
        {%- endfor %}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}


{#-
    How each derivable cut-point var is derived (marts.tag_cut_points, docs/tags.md):
    * metric, population: the user_profile fact cut and the users whose distribution sets it;
    * levels: one quantile per cut point (none = the fixed `first` value, a boundary with a meaning
      of its own: one order is one_time, no active day is inactive);
    * bound: `at_most` — the cut point is the quantile itself and users at or below it score the
      value (recency: fewer days is better); `at_least` — the cut point is the first value above
      the quantile (+ step), users from it up reach the value; so the quantile's own value always
      stays with the lower group and ties are never split;
    * step: the metric's unit (1 day or order, 0.01 CNY). When ties collapse two quantiles, the
      later cut point is raised to one step above the earlier one, so cut points stay ascending
      and scores still spread (many buyers with one order: F1 = one order, F2 = two …);
    * tag_values: the tag value each cut point opens, in order.
-#}
{% macro tag_cut_point_specs() -%}
    {{ return([
        {'var': 'rfm_recency_days', 'tag': 'rfm_r', 'metric': 'recency_days',
         'population': 'buyers', 'population_filter': 'orders_total > 0', 'method': 'quintiles',
         'levels': [0.2, 0.4, 0.6, 0.8], 'first': none, 'bound': 'at_most', 'step': 1,
         'tag_values': ['5', '4', '3', '2']},
        {'var': 'rfm_frequency_orders', 'tag': 'rfm_f', 'metric': 'orders_365d',
         'population': 'buyers', 'population_filter': 'orders_total > 0', 'method': 'quintiles',
         'levels': [0.2, 0.4, 0.6, 0.8], 'first': none, 'bound': 'at_least', 'step': 1,
         'tag_values': ['2', '3', '4', '5']},
        {'var': 'rfm_monetary_cny', 'tag': 'rfm_m', 'metric': 'revenue_365d',
         'population': 'buyers', 'population_filter': 'orders_total > 0', 'method': 'quintiles',
         'levels': [0.2, 0.4, 0.6, 0.8], 'first': none, 'bound': 'at_least', 'step': 0.01,
         'tag_values': ['2', '3', '4', '5']},
        {'var': 'frequency_band_orders', 'tag': 'frequency_band', 'metric': 'orders_365d',
         'population': 'repeat buyers of 365 days', 'population_filter': 'orders_365d >= 2',
         'method': 'median and 80th percentile',
         'levels': [none, 0.5, 0.8], 'first': 2, 'bound': 'at_least', 'step': 1,
         'tag_values': ['occasional', 'regular', 'frequent']},
        {'var': 'aov_band_cny', 'tag': 'aov_band', 'metric': 'aov_365d',
         'population': 'buyers of 365 days', 'population_filter': 'orders_365d > 0',
         'method': '25th, 75th and 95th percentiles',
         'levels': [0.25, 0.75, 0.95], 'first': none, 'bound': 'at_least', 'step': 0.01,
         'tag_values': ['medium', 'high', 'premium']},
        {'var': 'activity_level_days', 'tag': 'activity_level', 'metric': 'active_days_30d',
         'population': 'users active in 30 days', 'population_filter': 'active_days_30d > 0',
         'method': 'median and 80th percentile',
         'levels': [none, 0.5, 0.8], 'first': 1, 'bound': 'at_least', 'step': 1,
         'tag_values': ['low', 'medium', 'high']},
    ]) }}
{%- endmacro %}


{#-
    Exact discrete quantile: the smallest value v with at least `level` of the rows <= v (SQL
    PERCENTILE_DISC). Used for every derived cut point, so the same data gives the same cut
    points on every engine; the caller casts the result to the metric's type.
-#}
{% macro quantile_disc(expression, level) -%}
    {{ return(adapter.dispatch('quantile_disc', 'huaxiang')(expression, level)) }}
{%- endmacro %}

{#- The ANSI ordered-set aggregate (Postgres, Snowflake …). -#}
{% macro default__quantile_disc(expression, level) -%}
    percentile_disc({{ level }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__quantile_disc(expression, level) -%}
    quantile_disc({{ expression }}, {{ level }})
{%- endmacro %}

{#-
    Spark ≥ 3.3 has the ANSI form; its results follow the SQL standard (the same as DuckDB's
    quantile_disc) from 3.3.4 / 3.4.2 / 3.5.0 on (SPARK-44871; earlier releases interpolate the
    position). It returns a double: ordering by the double keeps decimals and integers exact
    after the caller's cast back.
-#}
{% macro spark__quantile_disc(expression, level) -%}
    percentile_disc({{ level }}) within group (order by cast({{ expression }} as double))
{%- endmacro %}


{#- A lifecycle threshold in fct_user_facts: the fixed var as a literal, or for `auto` the column of
    the one-row CTE `lifecycle` (fct_lifecycle_thresholds). -#}
{% macro lifecycle_threshold(name, column) -%}
    {%- set fixed = auto_integer_var(name) -%}
    {{ return(fixed if fixed is not none else 'lifecycle.' ~ column) }}
{%- endmacro %}


{#- marts.tag_cut_points: the cut points of one var strictly ascend by index (lifecycle rows are
    different vars, left out), so every score and band is an interval. -#}
{% test cut_points_ascend(model) %}

with ordered as (
    select
        threshold_var,
        cut_point_index,
        cut_point,
        lag(cut_point) over (partition by threshold_var order by cut_point_index) as previous_cut_point
    from {{ model }}
    where tag_code <> 'lifecycle_stage'
)

select * from ordered
where cut_point <= previous_cut_point

{% endtest %}
