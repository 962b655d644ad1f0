{{ config(materialized='table') }}
{#-
    Every raw product version with the reason it is rejected (null = clean). Products are dated
    upserts like users: clean versions are chained by updated_at, the latest is current, and
    raw = current + superseded + rejected. Rebuilt in full every run.
-#}

{{ classify_landed_rows(
    'products',
    key=['product_id'],
    versioned_by='updated_at',
    tie_order=['title', 'category_l1', 'category_l2', 'brand', 'list_price'],
    timestamp='updated_at',
    text_columns=['product_id', 'title', 'category_l1', 'category_l2', 'brand'],
    amounts=['list_price'],
) }}
