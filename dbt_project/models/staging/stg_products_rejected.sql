{#- Quarantined product versions: the raw row as landed and why it was rejected. -#}

{{ quarantined_rows('products') }}
