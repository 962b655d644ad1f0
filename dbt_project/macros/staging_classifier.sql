{#-
    Staging's one classifier. Each `stg_<table>_classified` model is one call of
    `classify_landed_rows`, which gives every raw row the first reason it is rejected for (null =
    clean); `stg_<table>_rejected` is one call of `quarantined_rows`. The reasons and their order
    are the var `reject_precedence` (dbt_project.yml): the generator's injected faults and the
    `known_reject_reason` tests read the same list.

    The rules every table has come from its arguments:
      null_key            a column of `key` or `required` is null
      duplicate           a natural key landed more than once: every landing after the first
                          (by _partition_date, then `tie_order`), and, for a day-by-day table, a
                          key this model already holds outside the run's window
      orphan_<entity>     `references`: {reason: {'column': c, 'in': raw table, 'optional': bool}};
                          the referenced table must have landed a row with that key (an optional
                          reference may be null)
      future_timestamp, missing_timestamp, partition_mismatch
                          `timestamp`'s business day after, missing, or before the landed day
      malformed_text      any of `text_columns` carries a broken encoding (cleaning.sql)
      non_finite_amount, amount_out_of_range, negative_amount
                          any of the money columns `amounts` is NaN/±inf, beyond what a decimal
                          holds, or negative (non_finite.sql)
    and `rules` adds the table's own ({reason: condition}: codes, ranges) or replaces one of the above.

    Day-by-day tables (events, orders, …) classify the run's window and are incremental; entity
    tables (`versioned_by` set: users, products, campaigns) are dated upserts rebuilt in full,
    whose clean versions are chained by `versioned_by` (superseded_at, is_current), so that
    raw = current + superseded + rejected.
-#}

{% macro classify_landed_rows(table, key, tie_order, timestamp, text_columns, required=[], references={}, amounts=[], rules={}, versioned_by=none) -%}
{%- set raw = source('raw', table) -%}
{%- set ranked_by = key + ([versioned_by] if versioned_by else []) -%}
{%- set reasons = {
    'null_key': (key + required) | join(' is null or ') ~ ' is null',
    'duplicate': 'key_rank > 1' ~ ('' if versioned_by else ' or key_outside_window'),
    'future_timestamp': business_date(timestamp) ~ ' > _partition_date',
    'malformed_text': has_malformed_text(text_columns),
    'missing_timestamp': timestamp ~ ' is null',
    'partition_mismatch': business_date(timestamp) ~ ' < _partition_date',
} -%}
{%- for reason, reference in references.items() -%}
    {%- do reasons.update({reason: 'not ' ~ reason ~ '_known'}) -%}
{%- endfor -%}
{%- if amounts -%}
    {%- do reasons.update({
        'non_finite_amount': has_non_finite_amount(amounts),
        'amount_out_of_range': has_amount_out_of_range(amounts),
        'negative_amount': amounts | join(' < 0 or ') ~ ' < 0',
    }) -%}
{%- endif -%}
{%- do reasons.update(rules) -%}
{%- for reason in reasons if reason not in var('reject_precedence') -%}
    {{ exceptions.raise_compiler_error(table ~ ": reject reason '" ~ reason ~ "' is not in the var reject_precedence") }}
{%- endfor -%}

with landed as (
    select * from {{ raw }}
    {%- if not versioned_by %}
    where {{ in_partition_window() }}
    {%- endif %}
),
{%- for reason, reference in references.items() %}

{{ reason }}_keys as (
    select distinct {{ reference['column'] }} from {{ source('raw', reference['in']) }}
    where {{ reference['column'] }} is not null
),
{%- endfor %}
{%- if not versioned_by %}

keys_outside_window as (
    {{ keys_outside_window(key, raw) }}
),

{{ rank_repeated_keys(key, tie_order) }},
{%- else %}

keyed as (
    select
        *,
        row_number() over (
            partition by {{ ranked_by | join(', ') }}
            order by _partition_date, {{ tie_order | join(', ') }}
        ) as key_rank
    from landed
),
{%- endif %}

ranked as (
    select
        keyed.*
        {%- if not versioned_by %},
        keys_outside_window.{{ key[0] }} is not null as key_outside_window
        {%- endif %}
        {%- for reason, reference in references.items() %},
        {% if reference.get('optional') %}keyed.{{ reference['column'] }} is null or {% endif -%}
        {{ reason }}_keys.{{ reference['column'] }} is not null as {{ reason }}_known
        {%- endfor %}
    from keyed
    {%- if not versioned_by %}
    left join keys_outside_window
        on {% for column in key %}keyed.{{ column }} = keys_outside_window.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endif %}
    {%- for reason, reference in references.items() %}
    left join {{ reason }}_keys on keyed.{{ reference['column'] }} = {{ reason }}_keys.{{ reference['column'] }}
    {%- endfor %}
),

classified as (
    select
        *,
        case
            {%- for reason in var('reject_precedence') if reason in reasons %}
            when {{ reasons[reason] }} then '{{ reason }}'
            {%- endfor %}
        end as reject_reason
    from ranked
)
{%- if versioned_by %},

{{ chain_clean_versions(key, versioned_by) }}
{%- endif %}

{%- set columns = raw_columns(table) %}

select
    {%- if columns %}
    {{ columns | join(',\n    ') }},
    reject_reason
    {%- if versioned_by %},
    superseded_at,
    is_current
    {%- endif %}
    {%- else %} *
    {%- endif %}
from {{ 'chained' if versioned_by else 'classified' }}
{%- endmacro %}


{#-
    `keyed`: the window's rows with their rank among the rows of the same key (1 = the first
    landing). Ranking every row by its key is a sort of the whole window; only repeated keys need
    one. A row with a null key part ranks 1 here: null_key rejects it before duplicate.
-#}
{% macro rank_repeated_keys(key, tie_order) -%}
repeated_keys as (
    select {{ key | join(', ') }} from landed
    where {{ key | join(' is not null and ') }} is not null
    group by {{ key | join(', ') }}
    having count(*) > 1
),

keyed as (
    select landed.*, 1 as key_rank
    from landed
    left join repeated_keys
        on {% for column in key %}landed.{{ column }} = repeated_keys.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
    where repeated_keys.{{ key[0] }} is null
    union all
    select
        landed.*,
        row_number() over (
            partition by {% for column in key %}landed.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
            order by landed._partition_date, {% for column in tie_order %}landed.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
        ) as key_rank
    from landed
    inner join repeated_keys
        on {% for column in key %}landed.{{ column }} = repeated_keys.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
)
{%- endmacro %}


{#- `chained`: every classified entity row; its clean versions chained by `version` (the latest is current). -#}
{% macro chain_clean_versions(key, version) -%}
clean_version_chain as (
    select
        {{ key | join(', ') }},
        {{ version }},
        lead({{ version }}) over (partition by {{ key | join(', ') }} order by {{ version }}) as superseded_at
    from classified
    where reject_reason is null
),

chained as (
    select
        classified.*,
        case when classified.reject_reason is null then clean_version_chain.superseded_at end as superseded_at,
        classified.reject_reason is null and clean_version_chain.superseded_at is null as is_current
    from classified
    left join clean_version_chain
        -- Equalities only: a rejected row may match its clean twin, whose chain the case above drops.
        -- (`reject_reason is null` in the condition made this a nested-loop join: every row × every row.)
        on {% for column in key %}classified.{{ column }} = clean_version_chain.{{ column }} and {% endfor -%}
        classified.{{ version }} = clean_version_chain.{{ version }}
)
{%- endmacro %}


{#- The quarantine of a table: its rejected rows as landed, the reason first. -#}
{% macro quarantined_rows(table) -%}
{%- set columns = raw_columns(table) or ['*'] %}
select
    reject_reason,
    _partition_date,
    {%- for column in columns if column != '_partition_date' %}
    {{ column }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ ref('stg_' ~ table ~ '_classified') }}
where reject_reason is not null
{%- endmacro %}


{#-
    The columns a raw table declares (models/staging/_sources.yml), in their order. Read from the
    graph, which dbt fills only when it runs a model: while it parses, and in unit tests, there is
    none, and the models select every column (`*`).
-#}
{% macro raw_columns(table) -%}
    {%- if not execute or 'sources' not in graph -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set node = graph.sources['source.huaxiang.raw.' ~ table] -%}
    {{ return(node.columns.keys() | list) }}
{%- endmacro %}
