{#-
    Clean campaign touches. Control-group rows are assignments, not messages: they carry
    sent_at as the assignment time and are never opened or clicked.
-#}

with clean as (
    select * from {{ ref('stg_campaign_sends__classified') }}
    where reject_reason is null
),

typed as (
    select
        send_id,
        campaign_id,
        user_id,
        {{ normalize_code('variant') }} as variant,
        {{ normalize_code('variant') }} = 'treatment' as is_treatment,
        sent_at as sent_at_utc,
        {{ to_business_time('sent_at') }} as sent_at_local,
        {{ business_date('sent_at') }} as send_date,
        opened_at as opened_at_utc,
        {{ to_business_time('opened_at') }} as opened_at_local,
        clicked_at as clicked_at_utc,
        {{ to_business_time('clicked_at') }} as clicked_at_local,
        opened_at is not null as was_opened,
        clicked_at is not null as was_clicked,
        _partition_date
    from clean
)

select * from typed
