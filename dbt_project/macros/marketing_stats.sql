{#-
    Statistics for A/B readouts in plain SQL arithmetic (exp, sqrt, abs), so they run on any
    adapter: DuckDB, Spark and Trino have no normal distribution function.

    The normal tail comes from the Abramowitz & Stegun 7.1.26 approximation of erf
    (|error| < 1.5e-7):  erf(u) ≈ 1 − (a1·t + a2·t² + a3·t³ + a4·t⁴ + a5·t⁵)·exp(−u²),
    t = 1 / (1 + p·u), u ≥ 0. Arguments are expressions evaluated several times: pass a column.
-#}

{%- macro _marketing_erfc_nonnegative(u) -%}
    {%- set t = '(1.0 / (1.0 + 0.3275911 * ' ~ u ~ '))' -%}
    ({{ t }} * (0.254829592 + {{ t }} * (-0.284496736 + {{ t }} * (1.421413741
        + {{ t }} * (-1.453152027 + {{ t }} * 1.061405429)))) * exp(-({{ u }}) * ({{ u }})))
{%- endmacro -%}


{#- Two-sided p-value of a standard normal statistic z: 2·(1 − Φ(|z|)) = erfc(|z|/√2); null for null z. -#}
{% macro marketing_two_sided_p_value(z) -%}
    {{ _marketing_erfc_nonnegative('abs(' ~ z ~ ') / sqrt(2.0)') }}
{%- endmacro %}


{#- Standard normal CDF Φ(x). -#}
{% macro marketing_normal_cdf(x) -%}
    case
        when {{ x }} >= 0 then 1.0 - 0.5 * {{ _marketing_erfc_nonnegative('(' ~ x ~ ') / sqrt(2.0)') }}
        else 0.5 * {{ _marketing_erfc_nonnegative('-(' ~ x ~ ') / sqrt(2.0)') }}
    end
{%- endmacro %}


{#-
    The two-sided critical value z of the confidence level in var lift_confidence_level. Only the
    common levels are offered: an arbitrary level would need an inverse normal CDF.
-#}
{% macro marketing_critical_z() -%}
    {%- set critical = {'0.8': 1.281552, '0.9': 1.644854, '0.95': 1.959964, '0.99': 2.575829} -%}
    {%- set level = var('lift_confidence_level') | string -%}
    {%- if level not in critical -%}
        {{ exceptions.raise_compiler_error(
            "var lift_confidence_level must be one of " ~ (critical.keys() | list | join(', ')) ~ ", got '" ~ level ~ "'") }}
    {%- endif -%}
    {{ return(critical[level]) }}
{%- endmacro %}
