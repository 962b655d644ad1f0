{#-
    Campaign response per user, business day and channel (treatment messages only; control users
    get no message). Messages, opens and clicks count on the day of the send (as in
    int_user_daily). A message converts when the user places a paid order within
    var attribution_window_days after it; the conversion counts once per message, on the day of
    its first such order — so every count lands on a day of the window and a day's rows are
    rebuilt from that day's partitions plus the attribution window of sends and orders before it.
-#}

{%- set attribution_days = integer_var('attribution_window_days') -%}
{%- set lookback_start = 'cast(' ~ dbt.dateadd('day', -(attribution_days + 1), partition_start_date()) ~ ' as date)' %}

with campaign_channels as (
    select campaign_id, channel
    from {{ ref('stg_campaigns') }}
),

-- Messages that can still convert inside the window: sent during it or up to the attribution
-- window (plus a day of time-zone slack) before it.
messages as (
    select
        sends.send_id,
        sends.user_id,
        sends.send_date,
        sends.sent_at_utc,
        sends.was_opened,
        sends.was_clicked,
        campaign_channels.channel
    from {{ ref('stg_campaign_sends') }} as sends
    inner join campaign_channels on sends.campaign_id = campaign_channels.campaign_id
    where sends.is_treatment
        and sends._partition_date between {{ lookback_start }} and {{ partition_end_date() }}
),

paid_orders as (
    select user_id, ordered_at_utc
    from {{ ref('stg_orders') }}
    where status = 'paid'
        and _partition_date between {{ lookback_start }} and {{ partition_end_date() }}
),

first_conversions as (
    select
        messages.send_id,
        messages.user_id,
        messages.channel,
        min(paid_orders.ordered_at_utc) as converted_at_utc
    from messages
    inner join paid_orders
        on messages.user_id = paid_orders.user_id
        and paid_orders.ordered_at_utc > messages.sent_at_utc
        and paid_orders.ordered_at_utc <= {{ dbt.dateadd('day', attribution_days, 'messages.sent_at_utc') }}
    group by messages.send_id, messages.user_id, messages.channel
),

message_rows as (
    select
        user_id,
        send_date as activity_date,
        channel,
        1 as messages,
        case when was_opened then 1 else 0 end as opens,
        case when was_clicked then 1 else 0 end as clicks,
        0 as conversions
    from messages
    where {{ in_partition_window('send_date') }}
),

conversion_rows as (
    select
        user_id,
        {{ business_date('converted_at_utc') }} as activity_date,
        channel,
        0 as messages,
        0 as opens,
        0 as clicks,
        1 as conversions
    from first_conversions
    where {{ in_partition_window(business_date('converted_at_utc')) }}
),

responses as (
    select * from message_rows
    union all
    select * from conversion_rows
),

rollup as (
    select
        user_id,
        activity_date,
        channel,
        {{ summed_counts(['messages', 'opens', 'clicks', 'conversions']) }}
    from responses
    group by user_id, activity_date, channel
)

select * from rollup
