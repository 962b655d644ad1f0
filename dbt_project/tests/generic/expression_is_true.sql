{#- Every row satisfies a SQL boolean expression; fails with the rows that do not. On a column the
    expression is still written out in full (column_name is accepted, not used). -#}
{% test expression_is_true(model, expression, column_name=none) %}

select * from {{ model }}
where not ({{ expression }})

{% endtest %}
