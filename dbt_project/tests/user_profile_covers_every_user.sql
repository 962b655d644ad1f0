{#- Every user with a clean version valid on the profile's as-of day has exactly one profile row. -#}

{{ config(meta={'dagster': {'ref': {'name': 'user_profile'}}}) }}

with as_of as (
    select max(as_of) as as_of_date from {{ ref('user_profile') }}
),

expected_users as (
    select distinct versions.user_id
    from {{ ref('stg_users_versions') }} as versions
    cross join as_of
    where versions.valid_from_date <= as_of.as_of_date
),

missing as (
    select expected_users.user_id
    from expected_users
    left join {{ ref('user_profile') }} as profile on expected_users.user_id = profile.user_id
    where profile.user_id is null
)

select * from missing
