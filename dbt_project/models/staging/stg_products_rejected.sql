{#- Quarantined product versions: the raw row as landed and why it was rejected. -#}

with rejected as (
    select * from {{ ref('stg_products__classified') }}
    where reject_reason is not null
)

select
    reject_reason,
    _partition_date,
    product_id,
    title,
    category_l1,
    category_l2,
    brand,
    list_price,
    updated_at
from rejected
