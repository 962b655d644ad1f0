{#- Hour slots of the business day (local time), used for activity-hour preferences. -#}
{% macro hour_slots() -%}
    {{ return([
        {'name': 'night', 'first_hour': 0, 'last_hour': 5},
        {'name': 'morning', 'first_hour': 6, 'last_hour': 11},
        {'name': 'afternoon', 'first_hour': 12, 'last_hour': 17},
        {'name': 'evening', 'first_hour': 18, 'last_hour': 21},
        {'name': 'late_night', 'first_hour': 22, 'last_hour': 23},
    ]) }}
{%- endmacro %}


{% macro hour_slot(hour_expression) -%}
    case
    {%- for slot in hour_slots() %}
        when {{ hour_expression }} between {{ slot.first_hour }} and {{ slot.last_hour }} then '{{ slot.name }}'
    {%- endfor %}
    end
{%- endmacro %}


{#- Completed years between two dates (a birthday counts on the day itself). -#}
{% macro age_in_years(birth_date, as_of_date) -%}
    (
        extract(year from {{ as_of_date }}) - extract(year from {{ birth_date }})
        - case
            when extract(month from {{ as_of_date }}) * 100 + extract(day from {{ as_of_date }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
            then 1 else 0
        end
    )
{%- endmacro %}


{#-
    The label whose count is largest; ties go to the earlier label in the list, no counts → null.
    `labelled_columns` is a list of (label, column) pairs.
-#}
{% macro label_of_max(labelled_columns) -%}
    {%- set columns = labelled_columns | map(attribute=1) | list -%}
    case
        when {{ columns | join(' + ') }} = 0 then null
    {%- for label, column in labelled_columns %}
        when {{ column }} = greatest({{ columns | join(', ') }}) then '{{ label }}'
    {%- endfor %}
    end
{%- endmacro %}
