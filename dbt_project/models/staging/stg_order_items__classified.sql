{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('_partition_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window() }}",
    )
}}
{#- Every raw order line of the run's window with the reason it is rejected (null = clean). -#}

with landed as (
    select * from {{ source('raw', 'order_items') }}
    where {{ in_partition_window() }}
),

known_orders as (
    select distinct order_id from {{ source('raw', 'orders') }}
    where order_id is not null
),

keys_outside_window as (
    {{ keys_outside_window(['order_id', 'product_id'], source('raw', 'order_items')) }}
),

ranked as (
    select
        landed.*,
        row_number() over (
            partition by landed.order_id, landed.product_id
            order by landed._partition_date, landed.ordered_at, landed.quantity, landed.unit_price
        ) as key_rank,
        keys_outside_window.order_id is not null as key_outside_window,
        known_orders.order_id is not null as order_known
    from landed
    left join keys_outside_window
        on landed.order_id = keys_outside_window.order_id
        and landed.product_id = keys_outside_window.product_id
    left join known_orders on landed.order_id = known_orders.order_id
),

classified as (
    select
        *,
        case
            when order_id is null or product_id is null then 'null_key'
            when key_rank > 1 or key_outside_window then 'duplicate'
            when {{ has_non_finite_amount(['unit_price']) }} then 'non_finite_amount'
            when {{ has_amount_out_of_range(['unit_price', 'quantity * unit_price']) }} then 'amount_out_of_range'
            when unit_price < 0 or quantity <= 0 then 'negative_amount'
            when {{ business_date('ordered_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['order_id', 'product_id']) }} then 'malformed_text'
            when ordered_at is null then 'missing_timestamp'
            when {{ business_date('ordered_at') }} < _partition_date then 'partition_mismatch'
            when not order_known then 'orphan_order'
        end as reject_reason
    from ranked
)

select
    order_id,
    product_id,
    quantity,
    unit_price,
    ordered_at,
    _partition_date,
    reject_reason
from classified
