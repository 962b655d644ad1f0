{#- Clean order lines with their amount; the order's status lives in stg_orders. -#}

with clean as (
    select * from {{ ref('stg_order_items_classified') }}
    where reject_reason is null
),

typed as (
    select
        order_id,
        product_id,
        cast(quantity as integer) as quantity,
        {{ to_money('unit_price') }} as unit_price,
        {{ to_money('quantity * unit_price') }} as line_amount,
        {{ business_times('ordered_at', 'order_date') }},
        _partition_date
    from clean
)

select * from typed
