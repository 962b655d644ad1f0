{{ config(materialized='table') }}
{#-
    Every raw campaign version with the reason it is rejected (null = clean). A campaign lands
    on its start day; landing it again with another start is a new version, and the latest clean
    version is current (raw = current + superseded + rejected). Rebuilt in full every run.
-#}

with landed as (
    select * from {{ source('raw', 'campaigns') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by campaign_id, starts_at
            order by _partition_date, name, channel, objective, ends_at, cost_per_send
        ) as key_rank
    from landed
),

classified as (
    select
        *,
        case
            when campaign_id is null then 'null_key'
            when key_rank > 1 then 'duplicate'
            when {{ has_non_finite_amount(['cost_per_send']) }} then 'non_finite_amount'
            when {{ has_amount_out_of_range(['cost_per_send']) }} then 'amount_out_of_range'
            when cost_per_send < 0 then 'negative_amount'
            when {{ business_date('starts_at') }} > _partition_date then 'future_timestamp'
            when {{ has_malformed_text(['campaign_id', 'name', 'channel', 'objective']) }} then 'malformed_text'
            when starts_at is null then 'missing_timestamp'
            when {{ business_date('starts_at') }} < _partition_date then 'partition_mismatch'
            when not {{ is_accepted_code('channel', 'channel') }} then 'invalid_code'
        end as reject_reason
    from ranked
),

clean_version_chain as (
    select
        campaign_id,
        starts_at,
        lead(starts_at) over (partition by campaign_id order by starts_at) as superseded_at
    from classified
    where reject_reason is null
),

chained as (
    select
        classified.*,
        case when classified.reject_reason is null then clean_version_chain.superseded_at end as superseded_at,
        classified.reject_reason is null and clean_version_chain.superseded_at is null as is_current
    from classified
    left join clean_version_chain
        -- Equalities only: a rejected row may match its clean twin, whose chain the case above drops.
        -- (`reject_reason is null` in the condition made this a nested-loop join: every row × every row.)
        on classified.campaign_id = clean_version_chain.campaign_id
        and classified.starts_at = clean_version_chain.starts_at
)

select
    campaign_id,
    name,
    channel,
    objective,
    starts_at,
    ends_at,
    cost_per_send,
    _partition_date,
    reject_reason,
    superseded_at,
    is_current
from chained
