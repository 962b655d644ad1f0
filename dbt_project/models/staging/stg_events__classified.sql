{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('_partition_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window() }}",
    )
}}
{#- Every raw event of the run's window with the reason it is rejected (null = clean). -#}

with landed as (
    select * from {{ source('raw', 'events') }}
    where {{ in_partition_window() }}
),

known_users as (
    select distinct user_id from {{ source('raw', 'users') }}
    where user_id is not null
),

keys_outside_window as (
    {{ keys_outside_window(['event_id'], source('raw', 'events')) }}
),

-- Ranking every event by its key is a sort of the whole window; only repeated keys need one.
repeated_keys as (
    select event_id from landed
    where event_id is not null
    group by event_id
    having count(*) > 1
),

keyed as (
    select landed.*, 1 as key_rank
    from landed
    left join repeated_keys on landed.event_id = repeated_keys.event_id
    where repeated_keys.event_id is null
    union all
    select
        landed.*,
        row_number() over (
            partition by landed.event_id
            order by landed._partition_date, landed.occurred_at, landed.user_id, landed.session_id,
                landed.event_type, landed.product_id, landed.search_query, landed.platform
        ) as key_rank
    from landed
    inner join repeated_keys on landed.event_id = repeated_keys.event_id
),

ranked as (
    select
        keyed.*,
        {{ business_date('keyed.occurred_at') }} as occurred_date,
        keys_outside_window.event_id is not null as key_outside_window,
        known_users.user_id is not null as user_known
    from keyed
    left join keys_outside_window on keyed.event_id = keys_outside_window.event_id
    left join known_users on keyed.user_id = known_users.user_id
),

classified as (
    select
        *,
        case
            when event_id is null or user_id is null then 'null_key'
            when key_rank > 1 or key_outside_window then 'duplicate'
            when not user_known then 'orphan_user'
            when occurred_date > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['event_id', 'user_id', 'session_id', 'event_type', 'product_id',
                                        'search_query', 'platform']) }}
                then 'malformed_text'
            when occurred_at is null then 'missing_timestamp'
            when occurred_date < _partition_date then 'partition_mismatch'
            when not {{ is_accepted_code('event_type', 'event_type') }}
                or not {{ is_accepted_code('platform', 'platform') }} then 'invalid_code'
        end as reject_reason
    from ranked
)

select
    event_id,
    user_id,
    session_id,
    event_type,
    product_id,
    search_query,
    platform,
    occurred_at,
    _partition_date,
    reject_reason
from classified
