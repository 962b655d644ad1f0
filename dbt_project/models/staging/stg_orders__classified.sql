{#- Every raw order of the run's window with the reason it is rejected (null = clean). -#}

{%- set amounts = ['gross_amount', 'discount_amount', 'paid_amount'] %}

{{ classify_landed_rows(
    'orders',
    key=['order_id'],
    required=['user_id'],
    tie_order=['ordered_at', 'user_id', 'status', 'platform', 'coupon_id', 'gross_amount', 'discount_amount',
               'paid_amount'],
    timestamp='ordered_at',
    text_columns=['order_id', 'user_id', 'status', 'platform', 'coupon_id'],
    references={'orphan_user': {'column': 'user_id', 'in': 'users'}},
    rules={
        'non_finite_amount': has_non_finite_amount(amounts),
        'amount_out_of_range': has_amount_out_of_range(amounts),
        'negative_amount': 'gross_amount < 0 or discount_amount < 0 or paid_amount < 0',
        'invalid_code': "not " ~ is_accepted_code('status', 'order_status')
            ~ " or not " ~ is_accepted_code('platform', 'platform'),
    },
) }}
