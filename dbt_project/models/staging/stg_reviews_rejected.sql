{#- Quarantined reviews: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_reviews__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    review_id,
    order_id,
    user_id,
    product_id,
    rating,
    review_text,
    created_at
from rejected
