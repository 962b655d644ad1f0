{#- Every clean version of every campaign; valid_to_utc null = current. -#}

with clean as (
    select * from {{ ref('stg_campaigns_classified') }}
    where reject_reason is null
),

typed as (
    select
        campaign_id,
        trim(name) as name,
        {{ normalize_code('channel') }} as channel,
        {{ normalize_code('objective') }} as objective,
        {{ business_times('starts_at', 'start_date') }},
        {{ business_times('ends_at', 'end_date') }},
        cast(cost_per_send as decimal(18, 4)) as cost_per_send,  -- unit price of a touch: fractions of a cent matter
        superseded_at as valid_to_utc,
        is_current,
        _partition_date
    from clean
)

select * from typed
