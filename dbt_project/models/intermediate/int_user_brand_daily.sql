{#-
    One row per user, business day and brand bought: paid order lines and their amount, with the
    brand of the product version valid that day (int_product_daily). Incremental per landed day;
    brand concentration and the top brand are summed from here. Lines of products without a
    brand or unknown to the catalog that day are left out.
-#}

with paid_lines as (
    select * from {{ ref('int_paid_order_lines') }}
),

products as (
    select * from {{ ref('int_product_daily') }}
    where {{ in_partition_window('activity_date') }}
        and brand is not null
),

rollup as (
    select
        paid_lines.user_id,
        paid_lines.activity_date,
        products.brand,
        count(*) as purchase_lines,
        cast(sum(paid_lines.quantity) as bigint) as purchased_units,
        {{ to_money('sum(paid_lines.line_amount)') }} as purchased_amount
    from paid_lines
    inner join products
        on paid_lines.product_id = products.product_id
        and paid_lines.activity_date = products.activity_date
    group by paid_lines.user_id, paid_lines.activity_date, products.brand
)

select * from rollup
