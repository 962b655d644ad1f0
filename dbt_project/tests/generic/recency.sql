{#-
    The latest day in `field` is at most `max_days_behind` days before the date in var
    `reference_var` (default partition_end: the last day the run was asked to cover) — it catches a
    run over days for which nothing landed. An open window (partition_end left at its default
    2999-12-31, or a null var) names no expected day, so the test passes.
-#}
{% test recency(model, field, max_days_behind, reference_var='partition_end') %}

{%- set reference = var(reference_var) -%}
{%- if reference is none or (reference | string) >= '2999-12-31' %}
select 1 as no_reference_day where 1 = 0
{%- else %}
{%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', reference | string) -%}
    {{ exceptions.raise_compiler_error("var " ~ reference_var ~ " must be a YYYY-MM-DD date, got '" ~ reference ~ "'") }}
{%- endif %}
with latest as (
    select max({{ field }}) as latest_day from {{ model }}
)

select latest_day, cast('{{ reference }}' as date) as reference_day
from latest
where latest_day is null
    or latest_day < {{ dbt.dateadd('day', -max_days_behind, "cast('" ~ reference ~ "' as date)") }}
{%- endif %}

{% endtest %}
