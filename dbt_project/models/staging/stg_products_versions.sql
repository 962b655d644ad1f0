{#- Every clean version of every product (price history); valid_to_utc null = current. -#}

with clean as (
    select * from {{ ref('stg_products_classified') }}
    where reject_reason is null
),

typed as (
    select
        product_id,
        trim(title) as title,
        nullif(trim(category_l1), '') as category_l1,
        nullif(trim(category_l2), '') as category_l2,
        nullif(trim(brand), '') as brand,
        {{ to_money('list_price') }} as list_price,
        {{ version_validity('updated_at') }},
        _partition_date
    from clean
)

select * from typed
