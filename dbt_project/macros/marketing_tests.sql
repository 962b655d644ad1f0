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


{#- marketing_consenting_users: every user of the model has marketing consent in `profile` (missing = no consent). -#}
{% test marketing_consenting_users(model, profile, column_name='user_id') %}

select members.{{ column_name }}
from {{ model }} as members
left join {{ profile }} as profile on members.{{ column_name }} = profile.user_id
where not coalesce(profile.marketing_consent, false)

{% endtest %}


{#- marketing_frequency_cap: no value of `column_name` (a user) has more than var `limit_var` rows per `per` group. -#}
{% test marketing_frequency_cap(model, column_name, limit_var, per=[]) %}

select {{ (per + [column_name]) | join(', ') }}, count(*) as rows_per_user
from {{ model }}
group by {{ (per + [column_name]) | join(', ') }}
having count(*) > {{ int_var(limit_var, 1) }}

{% endtest %}
