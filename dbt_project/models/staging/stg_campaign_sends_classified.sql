{#- Every raw campaign touch of the run's window with the reason it is rejected (null = clean). -#}

{{ classify_landed_rows(
    'campaign_sends',
    key=['send_id'],
    required=['user_id'],
    tie_order=['sent_at', 'campaign_id', 'user_id', 'variant', 'opened_at', 'clicked_at'],
    timestamp='sent_at',
    text_columns=['send_id', 'campaign_id', 'user_id', 'variant'],
    references={
        'orphan_user': {'column': 'user_id', 'in': 'users'},
        'orphan_campaign': {'column': 'campaign_id', 'in': 'campaigns'},
    },
    rules={'invalid_code': "not " ~ is_accepted_code('variant', 'variant')},
) }}
