{#-
    PII is never stored in clean models: phone and email become salted SHA-256 hex digests of
    their normalised value, so the same person hashes the same across tables and runs while the
    raw value cannot be looked up without the salt.

    The salt is never part of the SQL text (compiled files, logs, view definitions): it is handed
    to the engine at run time (huaxiang/pii_salt.py) — on DuckDB as the session variable
    huaxiang_pii_salt (set by the connection plugin huaxiang.duckdb_salt_plugin), on Spark as the
    session conf spark.huaxiang.pii_salt, which Spark substitutes when it parses the statement.
    Without it the statement fails rather than hash with no secret.
-#}

{% macro hash_pii(expression) -%}
    {{ return(adapter.dispatch('hash_pii', 'huaxiang')(expression)) }}
{%- endmacro %}

{% macro default__hash_pii(expression) -%}
    {{ exceptions.raise_compiler_error(
        "hash_pii has no implementation for adapter '" ~ adapter.type() ~ "': add a "
        ~ adapter.type() ~ "__hash_pii macro returning the lower-case hex SHA-256 of salt || value, "
        ~ "with the salt passed at run time (never compiled into the SQL)") }}
{%- endmacro %}

{% macro duckdb__hash_pii(expression) -%}
    sha256(
        coalesce(
            getvariable('huaxiang_pii_salt'),
            error('PII salt not set: run through huaxiang, or declare the plugin huaxiang.duckdb_salt_plugin in the profile')
        ) || {{ expression }}
    )
{%- endmacro %}

{% macro spark__hash_pii(expression) -%}
    case
        when '${spark.huaxiang.pii_salt}' = ''
            then raise_error('PII salt not set: spark.huaxiang.pii_salt is empty (set HUAXIANG_PII_SALT, see docs/scale-out.md)')
        else sha2(concat('${spark.huaxiang.pii_salt}', {{ expression }}), 256)
    end
{%- endmacro %}


{#- Digits only, without the +86 country code: '+86 138-0013-8000' and '13800138000' match. -#}
{% macro normalize_phone(column) -%}
    {%- set digits = adapter.dispatch('strip_non_digits', 'huaxiang')('trim(' ~ column ~ ')') -%}
    nullif(
        case
            when length({{ digits }}) = 13 and {{ digits }} like '86%' then substr({{ digits }}, 3)
            else {{ digits }}
        end,
        ''
    )
{%- endmacro %}

{% macro default__strip_non_digits(expression) -%}
    regexp_replace({{ expression }}, '[^0-9]', '')
{%- endmacro %}

{% macro duckdb__strip_non_digits(expression) -%}
    regexp_replace({{ expression }}, '[^0-9]', '', 'g')
{%- endmacro %}


{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
