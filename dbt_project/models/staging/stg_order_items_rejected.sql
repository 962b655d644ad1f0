{#- Quarantined order lines: the raw row as landed and why it was rejected. -#}

{{ quarantined_rows('order_items') }}
