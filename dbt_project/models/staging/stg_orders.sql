{#- Clean orders: typed, codes normalised, times in UTC and business-local. -#}

with clean as (
    select * from {{ ref('stg_orders_classified') }}
    where reject_reason is null
),

typed as (
    select
        order_id,
        user_id,
        {{ normalize_code('status') }} as status,
        {{ normalize_code('platform') }} as platform,
        nullif(trim(coupon_id), '') as coupon_id,
        coalesce(trim(coupon_id), '') <> '' as used_coupon,
        {{ to_money('gross_amount') }} as gross_amount,
        {{ to_money('discount_amount') }} as discount_amount,
        {{ to_money('paid_amount') }} as paid_amount,
        {{ business_times('ordered_at', 'order_date') }},
        _partition_date
    from clean
)

select * from typed
