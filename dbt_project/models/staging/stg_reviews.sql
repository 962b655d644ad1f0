{#- Clean reviews, times in UTC and business-local. -#}

with clean as (
    select * from {{ ref('stg_reviews_classified') }}
    where reject_reason is null
),

typed as (
    select
        review_id,
        order_id,
        user_id,
        product_id,
        cast(rating as integer) as rating,
        review_text,
        {{ business_times('created_at', 'review_date') }},
        _partition_date
    from clean
)

select * from typed
