{#- Category interest per user as of the latest landed day (or var as_of_date), long form. -#}

{{ user_category_mix_as_of(as_of_date()) }}
