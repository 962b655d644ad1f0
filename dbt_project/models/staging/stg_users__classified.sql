{{ config(materialized='table') }}
{#-
    Every raw user version with the reason it is rejected (null = clean). Users are dated
    upserts: a user lands again each day it changes, so one user has many clean versions; they
    are chained by updated_at and the latest is current. Superseded versions are not rejects:
    raw = current + superseded + rejected. Dimensions are small and rebuilt in full every run.
-#}

with landed as (
    select * from {{ source('raw', 'users') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id, updated_at
            order by _partition_date, gender, birth_date, city, province, city_tier, registered_at,
                register_channel, phone, email, marketing_consent
        ) as key_rank
    from landed
),

classified as (
    select
        *,
        case
            when user_id is null then 'null_key'
            when key_rank > 1 then 'duplicate'
            when {{ business_date('updated_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['user_id', 'gender', 'city', 'province', 'register_channel',
                                        'phone', 'email']) }}
                then 'malformed_text'
            when updated_at is null then 'missing_timestamp'
            when {{ business_date('updated_at') }} < _partition_date then 'partition_mismatch'
        end as reject_reason
    from ranked
),

clean_version_chain as (
    select
        user_id,
        updated_at,
        lead(updated_at) over (partition by user_id order by updated_at) as superseded_at
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
        on classified.user_id = clean_version_chain.user_id
        and classified.updated_at = clean_version_chain.updated_at
)

select
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
    updated_at,
    _partition_date,
    reject_reason,
    superseded_at,
    is_current
from chained
