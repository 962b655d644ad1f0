{% snapshot user_tag_history %}
{{
    config(
        target_schema='marts',
        unique_key=['user_id', 'tag_code'],
        strategy='check',
        check_cols=['tag_value'],
        hard_deletes='invalidate',
    )
}}
{#-
    History of the single-valued, step-changing tags (catalog: tracked_in_history): a new version
    of a user's tag whenever its value changes between builds, the old one closed (dbt_valid_to);
    a tag no longer emitted is closed too. first_seen_as_of is the business day of the first build
    that saw the version; dbt_valid_from/to are build times. Multi-valued tags and continuous
    numbers (propensity_score) are not tracked.
-#}

select
    user_id,
    tag_code,
    tag_value,
    as_of as first_seen_as_of
from {{ ref('user_tags') }}
where tag_code in (
    {%- for tag in tag_catalog() | selectattr('tracked_in_history') %}
    '{{ tag.code }}'{{ ',' if not loop.last }}
    {%- endfor %}
)

{% endsnapshot %}
