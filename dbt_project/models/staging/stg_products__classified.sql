{{ config(materialized='table') }}
{#-
    Every raw product version with the reason it is rejected (null = clean). Products are dated
    upserts like users: clean versions are chained by updated_at, the latest is current, and
    raw = current + superseded + rejected. Rebuilt in full every run.
-#}

with landed as (
    select * from {{ source('raw', 'products') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by product_id, updated_at
            order by _partition_date, title, category_l1, category_l2, brand, list_price
        ) as key_rank
    from landed
),

classified as (
    select
        *,
        case
            when product_id is null then 'null_key'
            when key_rank > 1 then 'duplicate'
            when {{ has_non_finite_amount(['list_price']) }} then 'non_finite_amount'
            when {{ has_amount_out_of_range(['list_price']) }} then 'amount_out_of_range'
            when list_price < 0 then 'negative_amount'
            when {{ business_date('updated_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['product_id', 'title', 'category_l1', 'category_l2', 'brand']) }}
                then 'malformed_text'
            when updated_at is null then 'missing_timestamp'
            when {{ business_date('updated_at') }} < _partition_date then 'partition_mismatch'
        end as reject_reason
    from ranked
),

clean_version_chain as (
    select
        product_id,
        updated_at,
        lead(updated_at) over (partition by product_id order by updated_at) as superseded_at
    from classified
    where reject_reason is null
),

chained as (
    select
        classified.*,
        case when classified.reject_reason is null then clean_version_chain.superseded_at end as superseded_at,
        classified.reject_reason is null and clean_version_chain.superseded_at is null as is_current
    from classified
    left join clean_version_chain
        -- Equalities only: a rejected row may match its clean twin, whose chain the case above drops.
        -- (`reject_reason is null` in the condition made this a nested-loop join: every row × every row.)
        on classified.product_id = clean_version_chain.product_id
        and classified.updated_at = clean_version_chain.updated_at
)

select
    product_id,
    title,
    category_l1,
    category_l2,
    brand,
    list_price,
    updated_at,
    _partition_date,
    reject_reason,
    superseded_at,
    is_current
from chained
