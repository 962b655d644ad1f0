{{ config(materialized='view') }}
{#-
    Category interest per user as of one business day (var as_of_date; null = the latest landed
    day), long: int_user_category_interest (one row per user and L1 / L2 category interacted with
    in the 90 days ending on as_of) with the affinity flag of var category_affinity_min_share.
    fct_user_facts takes the top categories, affinities and price levels from here.
-#}

{%- set affinity_min_share = number_var('category_affinity_min_share') %}

select
    user_id,
    category_level,
    category,
    category_l1,
    interest,
    interest_share,
    interest_rank,
    views,
    viewed_price_percentile_sum,
    purchase_lines,
    purchased_price_percentile_sum,
    purchased_amount,
    as_of,
    category_level = 'l1' and interest_share >= {{ affinity_min_share }} as is_affinity
from {{ ref('int_user_category_interest') }}
