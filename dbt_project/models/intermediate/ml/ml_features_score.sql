{#- Scoring features: every user as of the latest landed day (or var as_of_date). -#}

{{ user_features_as_of(as_of_date()) }}
