{#-
    Nothing lost, nothing invented: per landed partition of the run's window, the rows of the
    source equal the rows of this model plus those of `plus_relations` (e.g. clean + rejected).
    Fails with one row per partition that does not add up.
-#}
{% test reconciles_with_source(model, source_relation, plus_relations=[], partition_column='_partition_date') %}

with source_counts as (
    select {{ partition_column }} as partition_date, count(*) as source_rows
    from {{ source_relation }}
    where {{ in_partition_window(partition_column) }}
    group by {{ partition_column }}
),

model_rows as (
    {%- for relation in [model] + plus_relations %}
    select {{ partition_column }} as partition_date
    from {{ relation }}
    where {{ in_partition_window(partition_column) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

model_counts as (
    select partition_date, count(*) as model_rows
    from model_rows
    group by partition_date
),

compared as (
    select
        coalesce(source_counts.partition_date, model_counts.partition_date) as partition_date,
        coalesce(source_counts.source_rows, 0) as source_rows,
        coalesce(model_counts.model_rows, 0) as model_rows
    from source_counts
    full outer join model_counts on source_counts.partition_date = model_counts.partition_date
)

select * from compared
where source_rows <> model_rows

{% endtest %}
