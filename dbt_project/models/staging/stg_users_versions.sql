{{ config(materialized='table') }}
{#-
    Every clean version of every user, typed, PII hashed: valid from updated_at until the next
    version (valid_to_utc null = current). Marts pick the version valid on their as-of day.
    A table, not a view: hashing needs the run's salt (macro hash_pii), which readers outside dbt
    (BI tools, quality checks) do not have.
-#}

with clean as (
    select * from {{ ref('stg_users_classified') }}
    where reject_reason is null
),

typed as (
    select
        user_id,
        case
            when {{ normalize_code('gender') }} in ('male', 'm', '男') then 'male'
            when {{ normalize_code('gender') }} in ('female', 'f', '女') then 'female'
            else 'unknown'
        end as gender,
        birth_date,
        cast(extract(year from birth_date) as integer) as birth_year,
        nullif(trim(city), '') as city,
        nullif(trim(province), '') as province,
        cast(city_tier as integer) as city_tier,
        {{ business_times('registered_at', 'registered_date') }},
        {{ normalize_code('register_channel') }} as register_channel,
        {{ hash_pii(normalize_phone('phone')) }} as phone_hash,
        {{ hash_pii(normalize_email('email')) }} as email_hash,
        -- No recorded consent is no consent.
        coalesce(marketing_consent, false) as marketing_consent,
        {{ version_validity('updated_at') }},
        _partition_date
    from clean
)

select * from typed
