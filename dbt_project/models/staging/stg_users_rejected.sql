{#- Quarantined user versions: the raw row as landed (PII included, for repair) and why it was rejected. -#}

{{ quarantined_rows('users') }}
