{#-
    The ML recommendations (ml.user_recommendations, docs/ml.md) as a mart, so that they are
    published with the other marts: the top-N products per user of the latest run, ranked.
-#}

select
    user_id,
    cast(rank as integer) as rank,
    product_id,
    score,
    source,
    as_of
from {{ source('ml', 'user_recommendations') }}
