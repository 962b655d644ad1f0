{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('_partition_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window() }}",
    )
}}
{#- Every raw campaign touch of the run's window with the reason it is rejected (null = clean). -#}

with landed as (
    select * from {{ source('raw', 'campaign_sends') }}
    where {{ in_partition_window() }}
),

known_users as (
    select distinct user_id from {{ source('raw', 'users') }}
    where user_id is not null
),

known_campaigns as (
    select distinct campaign_id from {{ source('raw', 'campaigns') }}
    where campaign_id is not null
),

keys_outside_window as (
    {{ keys_outside_window(['send_id'], source('raw', 'campaign_sends')) }}
),

ranked as (
    select
        landed.*,
        row_number() over (
            partition by landed.send_id
            order by landed._partition_date, landed.sent_at, landed.campaign_id, landed.user_id,
                landed.variant, landed.opened_at, landed.clicked_at
        ) as key_rank,
        keys_outside_window.send_id is not null as key_outside_window,
        known_users.user_id is not null as user_known,
        known_campaigns.campaign_id is not null as campaign_known
    from landed
    left join keys_outside_window on landed.send_id = keys_outside_window.send_id
    left join known_users on landed.user_id = known_users.user_id
    left join known_campaigns on landed.campaign_id = known_campaigns.campaign_id
),

classified as (
    select
        *,
        case
            when send_id is null or user_id is null then 'null_key'
            when key_rank > 1 or key_outside_window then 'duplicate'
            when not user_known then 'orphan_user'
            when {{ business_date('sent_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['send_id', 'campaign_id', 'user_id', 'variant']) }} then 'malformed_text'
            when sent_at is null then 'missing_timestamp'
            when {{ business_date('sent_at') }} < _partition_date then 'partition_mismatch'
            when not {{ is_accepted_code('variant', 'variant') }} then 'invalid_code'
            when not campaign_known then 'orphan_campaign'
        end as reject_reason
    from ranked
)

select
    send_id,
    campaign_id,
    user_id,
    variant,
    sent_at,
    opened_at,
    clicked_at,
    _partition_date,
    reject_reason
from classified
