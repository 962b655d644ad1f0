{#- Quarantined user versions: the raw row as landed (PII included, for repair) and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_users__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    user_id,
    gender,
    birth_date,
    city,
    province,
    city_tier,
    registered_at,
    register_channel,
    phone,
    email,
    marketing_consent,
    updated_at
from rejected
