{{
    config(
        materialized='incremental',
        incremental_strategy=partition_incremental_strategy(),
        partition_by=partition_by_day('_partition_date'),
        on_schema_change='fail',
        pre_hook="{{ delete_partition_window() }}",
    )
}}
{#- Every raw review of the run's window with the reason it is rejected (null = clean). -#}

with landed as (
    select * from {{ source('raw', 'reviews') }}
    where {{ in_partition_window() }}
),

known_users as (
    select distinct user_id from {{ source('raw', 'users') }}
    where user_id is not null
),

known_orders as (
    select distinct order_id from {{ source('raw', 'orders') }}
    where order_id is not null
),

keys_outside_window as (
    {{ keys_outside_window(['review_id'], source('raw', 'reviews')) }}
),

ranked as (
    select
        landed.*,
        row_number() over (
            partition by landed.review_id
            order by landed._partition_date, landed.created_at, landed.order_id, landed.user_id,
                landed.product_id, landed.rating, landed.review_text
        ) as key_rank,
        keys_outside_window.review_id is not null as key_outside_window,
        known_users.user_id is not null as user_known,
        landed.order_id is null or known_orders.order_id is not null as order_known
    from landed
    left join keys_outside_window on landed.review_id = keys_outside_window.review_id
    left join known_users on landed.user_id = known_users.user_id
    left join known_orders on landed.order_id = known_orders.order_id
),

classified as (
    select
        *,
        case
            when review_id is null or user_id is null then 'null_key'
            when key_rank > 1 or key_outside_window then 'duplicate'
            when not user_known then 'orphan_user'
            when {{ business_date('created_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['review_id', 'order_id', 'user_id', 'product_id', 'review_text']) }}
                then 'malformed_text'
            when created_at is null then 'missing_timestamp'
            when {{ business_date('created_at') }} < _partition_date then 'partition_mismatch'
            when not order_known then 'orphan_order'
            when rating is null or rating not between 1 and 5 then 'out_of_range'
        end as reject_reason
    from ranked
)

select
    review_id,
    order_id,
    user_id,
    product_id,
    rating,
    review_text,
    created_at,
    _partition_date,
    reject_reason
from classified
