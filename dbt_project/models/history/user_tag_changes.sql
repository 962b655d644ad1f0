{#-
    The tag history by business day: one row per version of user_tag_history. The snapshot's
    dbt_valid_from/to are build times (a backfill and a rerun happen on other days than the data's);
    marketers ask "on which day did the value tier change", so each version gets the business days
    it held: from the day it was first built for (first_seen_as_of) up to, not including, the
    business day of the build that closed it (the day the versions opened by that build were first
    seen). A version replaced by a rerun of its own day (on corrected data) has
    valid_to_day = valid_from_day.
-#}

with history as (
    select user_id, tag_code, tag_value, first_seen_as_of, dbt_valid_from, dbt_valid_to
    from {{ ref('user_tag_history') }}
),

builds as (
    -- Every build opens its versions at one time, all first seen on the build's business day.
    select dbt_valid_from as built_at, max(first_seen_as_of) as business_day
    from history
    group by dbt_valid_from
)

select
    history.user_id,
    history.tag_code,
    history.tag_value,
    lag(history.tag_value) over (
        partition by history.user_id, history.tag_code order by history.dbt_valid_from
    ) as previous_value,
    history.first_seen_as_of as valid_from_day,
    closed.business_day as valid_to_day,
    history.dbt_valid_to is null as is_current,
    history.dbt_valid_from,
    history.dbt_valid_to
from history
left join builds as closed on history.dbt_valid_to = closed.built_at
