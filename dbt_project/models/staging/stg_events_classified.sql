{#- Every raw event of the run's window with the reason it is rejected (null = clean). -#}

{{ classify_landed_rows(
    'events',
    key=['event_id'],
    required=['user_id'],
    tie_order=['occurred_at', 'user_id', 'session_id', 'event_type', 'product_id', 'search_query', 'platform'],
    timestamp='occurred_at',
    text_columns=['event_id', 'user_id', 'session_id', 'event_type', 'product_id', 'search_query', 'platform'],
    references={'orphan_user': {'column': 'user_id', 'in': 'users'}},
    rules={
        'invalid_code': "not " ~ is_accepted_code('event_type', 'event_type')
            ~ " or not " ~ is_accepted_code('platform', 'platform'),
    },
) }}
