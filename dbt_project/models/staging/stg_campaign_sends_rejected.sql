{#- Quarantined campaign touches: the raw row as landed and why it was rejected. -#}

{{ quarantined_rows('campaign_sends') }}
