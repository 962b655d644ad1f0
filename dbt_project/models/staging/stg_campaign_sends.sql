{#-
    Clean campaign touches. Control-group rows are assignments, not messages: they carry
    sent_at as the assignment time and are never opened or clicked.
-#}

with clean as (
    select * from {{ ref('stg_campaign_sends_classified') }}
    where reject_reason is null
),

typed as (
    select
        send_id,
        campaign_id,
        user_id,
        {{ normalize_code('variant') }} as variant,
        {{ normalize_code('variant') }} = 'treatment' as is_treatment,
        {{ business_times('sent_at', 'send_date') }},
        {{ business_times('opened_at') }},
        {{ business_times('clicked_at') }},
        opened_at is not null as was_opened,
        clicked_at is not null as was_clicked,
        _partition_date
    from clean
)

select * from typed
