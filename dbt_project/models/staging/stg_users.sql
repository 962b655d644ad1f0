{#- The current clean version of each user (one row per user). -#}

with current_versions as (
    select * from {{ ref('stg_users_versions') }}
    where is_current
)

select
    user_id,
    gender,
    birth_date,
    birth_year,
    city,
    province,
    city_tier,
    registered_at_utc,
    registered_at_local,
    registered_date,
    register_channel,
    phone_hash,
    email_hash,
    marketing_consent,
    valid_from_utc as updated_at_utc,
    _partition_date
from current_versions
