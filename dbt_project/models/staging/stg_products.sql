{#- The current clean version of each product (one row per product). -#}

with current_versions as (
    select * from {{ ref('stg_products_versions') }}
    where is_current
)

select
    product_id,
    title,
    category_l1,
    category_l2,
    brand,
    list_price,
    valid_from_utc as updated_at_utc,
    _partition_date
from current_versions
