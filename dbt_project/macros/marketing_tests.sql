{#-
    Generic tests of the marketing marts (in macros/ so they stay with the marketing code).

    marketing_segments_add_up: within each `group_by` group, the row whose `segment_column` is
    `total_segment` equals the sum of the other segments' rows for every additive column — the
    segments partition the total. Fails with each group and column that does not add up.
-#}
{% test marketing_segments_add_up(model, group_by, total_segment, additive_columns, segment_column='segment') %}

with totals as (
    select
        {{ group_by | join(', ') }},
        {%- for column in additive_columns %}
        sum(case when {{ segment_column }} = '{{ total_segment }}' then {{ column }} else 0 end) as total_{{ column }},
        sum(case when {{ segment_column }} <> '{{ total_segment }}' then {{ column }} else 0 end) as parts_{{ column }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    group by {{ group_by | join(', ') }}
)

select *
from totals
where
    {%- for column in additive_columns %}
    total_{{ column }} <> parts_{{ column }}{{ ' or' if not loop.last }}
    {%- endfor %}

{% endtest %}
