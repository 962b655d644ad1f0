{#- The current clean version of each campaign (one row per campaign). -#}

with current_versions as (
    select * from {{ ref('stg_campaigns_versions') }}
    where is_current
)

select
    campaign_id,
    name,
    channel,
    objective,
    starts_at_utc,
    starts_at_local,
    start_date,
    ends_at_utc,
    ends_at_local,
    end_date,
    cost_per_send,
    _partition_date
from current_versions
