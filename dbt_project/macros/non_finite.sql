{#-
    Non-finite amounts: a raw DOUBLE amount / price / cost that is NaN, +inf or -inf. Parquet and
    CSV ('nan', 'inf', 'Infinity', any case) both carry them, and no decimal can hold them: left in
    a clean row, `to_money` fails the run with "Could not cast value nan to DECIMAL(18,2)". Staging
    quarantines them as `non_finite_amount`, before `negative_amount`: -inf < 0 is true, and NaN
    compares as the largest value (DuckDB and Spark), so `< 0` never catches it. Null is not
    non-finite (a missing amount stays a null in the clean model).

    has_non_finite_amount(['a', 'b']) is true when any of the columns is non-finite, false otherwise
    (never null, so it can sit in a case or be negated).
-#}
{% macro has_non_finite_amount(columns) -%}
    ({% for column in columns -%}
        {{ adapter.dispatch('is_non_finite', 'huaxiang')(column) }}{% if not loop.last %} or {% endif %}
    {%- endfor %})
{%- endmacro %}

{#- DuckDB: isfinite is false for NaN and ±inf, null for null. -#}
{% macro default__is_non_finite(column) -%}
    coalesce(not isfinite({{ column }}), false)
{%- endmacro %}

{#-
    Spark has isnan (false for null) but no isinf/isfinite; infinity equals itself
    (double('inf') = double('infinity')), and abs(NaN) is NaN, which does not equal infinity.
-#}
{% macro spark__is_non_finite(column) -%}
    coalesce(isnan({{ column }}) or abs({{ column }}) = double('inf'), false)
{%- endmacro %}
