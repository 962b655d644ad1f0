{{ config(materialized='table') }}
{#-
    Every raw user version with the reason it is rejected (null = clean). Users are dated
    upserts: a user lands again each day it changes, so one user has many clean versions; they
    are chained by updated_at and the latest is current. Superseded versions are not rejects:
    raw = current + superseded + rejected. Dimensions are small and rebuilt in full every run.
-#}

{{ classify_landed_rows(
    'users',
    key=['user_id'],
    versioned_by='updated_at',
    tie_order=['gender', 'birth_date', 'city', 'province', 'city_tier', 'registered_at', 'register_channel', 'phone',
               'email', 'marketing_consent'],
    timestamp='updated_at',
    text_columns=['user_id', 'gender', 'city', 'province', 'register_channel', 'phone', 'email'],
) }}
