{#-
    Every online tag of the catalog is emitted for at least one user once the profile has users.
    Exceptions the catalog declares: tags marked may_be_absent (a source can lack their input for
    everyone, e.g. city tiers) and model tags while their ML table scores none of the profiled
    users. Fails with one row per missing tag.
-#}
{{ config(meta={'dagster': {'ref': {'name': 'user_tags'}}}) }}

{%- set online = tag_catalog() | selectattr('status', 'equalto', 'online') | rejectattr('may_be_absent') | list %}

with profiled as (
    select count(*) as users from {{ ref('user_profile') }}
),

expected as (
    {%- for tag in online %}
    select '{{ tag.code }}' as tag_code
    {%- if tag.kind == 'model' %}
    where exists (
        select 1
        from {{ source('ml', tag.ml_table) }} as scored
        inner join {{ ref('user_profile') }} as profile on scored.user_id = profile.user_id
    )
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

emitted as (
    select distinct tag_code from {{ ref('user_tags') }}
),

missing as (
    select expected.tag_code
    from expected
    cross join profiled
    left join emitted on expected.tag_code = emitted.tag_code
    where profiled.users > 0
        and emitted.tag_code is null
)

select * from missing
