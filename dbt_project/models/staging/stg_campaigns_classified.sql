{{ config(materialized='table') }}
{#-
    Every raw campaign version with the reason it is rejected (null = clean). A campaign lands
    on its start day; landing it again with another start is a new version, and the latest clean
    version is current (raw = current + superseded + rejected). Rebuilt in full every run.
-#}

{{ classify_landed_rows(
    'campaigns',
    key=['campaign_id'],
    versioned_by='starts_at',
    tie_order=['name', 'channel', 'objective', 'ends_at', 'cost_per_send'],
    timestamp='starts_at',
    text_columns=['campaign_id', 'name', 'channel', 'objective'],
    amounts=['cost_per_send'],
    rules={'invalid_code': "not " ~ is_accepted_code('channel', 'channel')},
) }}
