{#-
    The latest day in `field` is at most `max_days_behind` days before the expected day — it
    catches a run over days for which nothing was processed. The expected day is the date in var
    `reference_var` (default partition_end: the last day the run was asked to cover, see
    partition_window_value) or, with
    `reference_relation` / `reference_field`, the latest day that relation holds in the run's window
    (partition_start .. reference_var): a source whose days can be empty (a real shop's export) is
    judged against the latest day it actually landed. An open window (partition_end left at its
    default 2999-12-31, or a null var) names no expected day, so the test passes.
-#}
{% test recency(model, field, max_days_behind, reference_var='partition_end', reference_relation=none,
                reference_field=none) %}

{%- set reference = partition_window_value(reference_var) if reference_var in ('partition_start', 'partition_end') else var(reference_var) -%}
{%- if reference is none or (reference | string) >= '2999-12-31' %}
select 1 as no_reference_day where 1 = 0
{%- else %}
{%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', reference | string) -%}
    {{ exceptions.raise_compiler_error("var " ~ reference_var ~ " must be a YYYY-MM-DD date, got '" ~ reference ~ "'") }}
{%- endif %}
with latest as (
    select max({{ field }}) as latest_day from {{ model }}
),

expected as (
{%- if reference_relation is not none %}
    select max({{ reference_field }}) as reference_day
    from {{ reference_relation }}
    where {{ reference_field }} between cast('{{ partition_window_value("partition_start") }}' as date) and cast('{{ reference }}' as date)
{%- else %}
    select cast('{{ reference }}' as date) as reference_day
{%- endif %}
)

select latest_day, reference_day
from latest cross join expected
where reference_day is not null
    and (latest_day is null or latest_day < {{ dbt.dateadd('day', -max_days_behind, 'reference_day') }})
{%- endif %}

{% endtest %}
