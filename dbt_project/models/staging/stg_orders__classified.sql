{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('_partition_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window() }}",
    )
}}
{#- Every raw order of the run's window with the reason it is rejected (null = clean). -#}

with landed as (
    select * from {{ source('raw', 'orders') }}
    where {{ in_partition_window() }}
),

known_users as (
    select distinct user_id from {{ source('raw', 'users') }}
    where user_id is not null
),

keys_outside_window as (
    {{ keys_outside_window(['order_id'], source('raw', 'orders')) }}
),

ranked as (
    select
        landed.*,
        row_number() over (
            partition by landed.order_id
            order by landed._partition_date, landed.ordered_at, landed.user_id, landed.status,
                landed.platform, landed.coupon_id, landed.gross_amount, landed.discount_amount,
                landed.paid_amount
        ) as key_rank,
        keys_outside_window.order_id is not null as key_outside_window,
        known_users.user_id is not null as user_known
    from landed
    left join keys_outside_window on landed.order_id = keys_outside_window.order_id
    left join known_users on landed.user_id = known_users.user_id
),

classified as (
    select
        *,
        case
            when order_id is null or user_id is null then 'null_key'
            when key_rank > 1 or key_outside_window then 'duplicate'
            when not user_known then 'orphan_user'
            when {{ has_non_finite_amount(['gross_amount', 'discount_amount', 'paid_amount']) }}
                then 'non_finite_amount'
            when {{ has_amount_out_of_range(['gross_amount', 'discount_amount', 'paid_amount']) }}
                then 'amount_out_of_range'
            when gross_amount < 0 or discount_amount < 0 or paid_amount < 0 then 'negative_amount'
            when {{ business_date('ordered_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['order_id', 'user_id', 'status', 'platform', 'coupon_id']) }}
                then 'malformed_text'
            when ordered_at is null then 'missing_timestamp'
            when {{ business_date('ordered_at') }} < _partition_date then 'partition_mismatch'
            when not {{ is_accepted_code('status', 'order_status') }}
                or not {{ is_accepted_code('platform', 'platform') }} then 'invalid_code'
        end as reject_reason
    from ranked
)

select
    order_id,
    user_id,
    ordered_at,
    status,
    platform,
    coupon_id,
    gross_amount,
    discount_amount,
    paid_amount,
    _partition_date,
    reject_reason
from classified
