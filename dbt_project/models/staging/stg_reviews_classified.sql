{#- Every raw review of the run's window with the reason it is rejected (null = clean). -#}

{{ classify_landed_rows(
    'reviews',
    key=['review_id'],
    required=['user_id'],
    tie_order=['created_at', 'order_id', 'user_id', 'product_id', 'rating', 'review_text'],
    timestamp='created_at',
    text_columns=['review_id', 'order_id', 'user_id', 'product_id', 'review_text'],
    references={
        'orphan_user': {'column': 'user_id', 'in': 'users'},
        'orphan_order': {'column': 'order_id', 'in': 'orders', 'optional': true},
    },
    rules={'out_of_range': 'rating is null or rating not between 1 and 5'},
) }}
