{#- Every raw order of the run's window with the reason it is rejected (null = clean). -#}

{{ classify_landed_rows(
    'orders',
    key=['order_id'],
    required=['user_id'],
    tie_order=['ordered_at', 'user_id', 'status', 'platform', 'coupon_id', 'gross_amount', 'discount_amount',
               'paid_amount'],
    timestamp='ordered_at',
    text_columns=['order_id', 'user_id', 'status', 'platform', 'coupon_id'],
    references={'orphan_user': {'column': 'user_id', 'in': 'users'}},
    amounts=['gross_amount', 'discount_amount', 'paid_amount'],
    rules={
        'invalid_code': "not " ~ is_accepted_code('status', 'order_status')
            ~ " or not " ~ is_accepted_code('platform', 'platform'),
    },
) }}
