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

{#-
    Out-of-range amounts: a finite raw DOUBLE amount too large for money. Clean amounts are cast to
    DECIMAL(18,2), which holds less than 10^16 in absolute value: a larger one (1e20, or a line's
    quantity × unit_price beyond it) failed the run with "Could not cast value … to DECIMAL(18,2)".
    Staging quarantines any amount whose absolute value is max_money_amount() (10^12, a trillion) or
    more as `amount_out_of_range`, right after `non_finite_amount`: no order, price or cost is that
    large, and the margin below 10^16 keeps sums over many rows (a user's day, a campaign) castable
    too. Null is not out of range; NaN and ±inf are non_finite_amount first.

    has_amount_out_of_range(['a', 'quantity * b']) takes columns or expressions; true when any is out
    of range, false otherwise (never null). Plain SQL, the same on DuckDB and Spark (1e12 is a DOUBLE
    literal on both).
-#}
{% macro max_money_amount() -%}
    1e12
{%- endmacro %}

{% macro has_amount_out_of_range(expressions) -%}
    ({% for expression in expressions -%}
        coalesce(abs({{ expression }}) >= {{ max_money_amount() }}, false){% if not loop.last %} or {% endif %}
    {%- endfor %})
{%- endmacro %}
