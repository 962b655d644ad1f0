{#- Clean events: codes normalised, times in UTC and business-local, with the local hour slot. -#}

with clean as (
    select * from {{ ref('stg_events_classified') }}
    where reject_reason is null
),

localised as (
    select
        *,
        {{ to_business_time('occurred_at') }} as occurred_at_local
    from clean
),

typed as (
    select
        event_id,
        user_id,
        session_id,
        {{ normalize_code('event_type') }} as event_type,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(search_query), '') as search_query,
        {{ normalize_code('platform') }} as platform,
        occurred_at as occurred_at_utc,
        occurred_at_local,
        cast(occurred_at_local as date) as event_date,
        cast(extract(hour from occurred_at_local) as integer) as event_hour,
        {{ hour_slot('extract(hour from occurred_at_local)') }} as hour_slot,
        _partition_date
    from localised
)

select * from typed
