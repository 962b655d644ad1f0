{#-
    Broken encodings: the Unicode replacement character U+FFFD (what a failed decode leaves behind)
    or a C0 control character \x00-\x08 anywhere in the text. Tab and newline are legitimate.
-#}

{#- One regex over the columns joined by a space (concat_ws skips nulls): a third cheaper than one a column. -#}
{% macro has_malformed_text(columns) -%}
    {{ adapter.dispatch('matches_malformed_text', 'huaxiang')("concat_ws(' ', " ~ columns | join(', ') ~ ")") }}
{%- endmacro %}

{% macro default__matches_malformed_text(column) -%}
    coalesce(regexp_like({{ column }}, '[\x00-\x08\x{FFFD}]'), false)
{%- endmacro %}

{% macro duckdb__matches_malformed_text(column) -%}
    coalesce(regexp_matches({{ column }}, '[\x00-\x08\x{FFFD}]'), false)
{%- endmacro %}


{#- Spark string literals unescape backslashes, so the regex escapes are doubled. -#}
{% macro spark__matches_malformed_text(column) -%}
    coalesce({{ column }} rlike '[\\x00-\\x08\\x{FFFD}]', false)
{%- endmacro %}


{#- Codes (event types, statuses, channels …) compare lower-case and trimmed. -#}
{% macro normalize_code(column) -%}
    lower(trim({{ column }}))
{%- endmacro %}


{#- Money is decimal(18,2) from the raw float. -#}
{% macro to_money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}


{#- Accepted code sets (huaxiang/contract.py); the .yml accepted_values tests repeat them. -#}
{% macro accepted_codes(kind) -%}
    {%- set codes = {
        'event_type': ['view', 'search', 'click', 'add_to_cart', 'favorite', 'purchase'],
        'platform': ['app', 'web', 'mini_program'],
        'order_status': ['paid', 'cancelled', 'refunded'],
        'channel': ['sms', 'email', 'push', 'in_app'],
        'variant': ['treatment', 'control'],
    } -%}
    {{ return(codes[kind]) }}
{%- endmacro %}


{#- False for null and for anything outside the set (after normalize_code). -#}
{% macro is_accepted_code(column, kind) -%}
    coalesce({{ normalize_code(column) }} in ('{{ accepted_codes(kind) | join("', '") }}'), false)
{%- endmacro %}
