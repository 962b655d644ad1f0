{#-
    PII is never stored in clean models: phone and email become salted SHA-256 hex digests of
    their normalised value, so the same person hashes the same across tables and runs while the
    raw value cannot be looked up without the salt.

    The salt comes from env HUAXIANG_PII_SALT. On the local `duckdb` target a documented dev salt
    ('huaxiang-dev-salt', the same as huaxiang.settings.DEV_PII_SALT) is used when it is unset;
    any other target refuses to run without it. Note the salt appears in compiled SQL (target/).
-#}

{% macro pii_salt() -%}
    {%- set salt = env_var('HUAXIANG_PII_SALT', '') -%}
    {%- if salt == '' and target.name == 'duckdb' -%}
        {%- set salt = 'huaxiang-dev-salt' -%}
    {%- elif salt == '' and execute -%}
        {{ exceptions.raise_compiler_error(
            "HUAXIANG_PII_SALT is not set: target '" ~ target.name ~ "' needs a secret salt to hash PII "
            ~ "(only the local 'duckdb' target falls back to the dev salt)") }}
    {%- endif -%}
    {{ return(salt | replace("'", "''")) }}
{%- endmacro %}


{% macro hash_pii(expression) -%}
    {{ return(adapter.dispatch('hash_pii', 'huaxiang')(expression)) }}
{%- endmacro %}

{% macro default__hash_pii(expression) -%}
    {{ exceptions.raise_compiler_error(
        "hash_pii has no implementation for adapter '" ~ adapter.type() ~ "': add a "
        ~ adapter.type() ~ "__hash_pii macro returning the lower-case hex SHA-256 of salt || value") }}
{%- endmacro %}

{% macro duckdb__hash_pii(expression) -%}
    sha256('{{ pii_salt() }}' || {{ expression }})
{%- endmacro %}


{% macro spark__hash_pii(expression) -%}
    sha2(concat('{{ pii_salt() | replace("\\", "\\\\") }}', {{ expression }}), 256)
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
