{#- Every raw order line of the run's window with the reason it is rejected (null = clean). -#}

{{ classify_landed_rows(
    'order_items',
    key=['order_id', 'product_id'],
    tie_order=['ordered_at', 'quantity', 'unit_price'],
    timestamp='ordered_at',
    text_columns=['order_id', 'product_id'],
    references={'orphan_order': {'column': 'order_id', 'in': 'orders'}},
    amounts=['unit_price'],
    rules={
        'amount_out_of_range': has_amount_out_of_range(['unit_price', 'quantity * unit_price']),
        'negative_amount': 'unit_price < 0 or quantity <= 0',
    },
) }}
