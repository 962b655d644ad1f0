{#-
    Campaign messages, opens and clicks per user and day of the window are the same in the
    channel rollup as in int_user_daily (treatment sends): splitting by channel loses nothing.
-#}
{{ config(meta={'dagster': {'ref': {'name': 'int_user_channel_daily'}}}) }}

with by_channel as (
    select user_id, activity_date, sum(messages) as messages, sum(opens) as opens, sum(clicks) as clicks
    from {{ ref('int_user_channel_daily') }}
    where {{ in_partition_window('activity_date') }}
    group by user_id, activity_date
),

daily as (
    select
        user_id,
        activity_date,
        sends_received as messages,
        sends_opened as opens,
        sends_clicked as clicks
    from {{ ref('int_user_daily') }}
    where {{ in_partition_window('activity_date') }}
        and sends_received > 0
),

compared as (
    select
        coalesce(by_channel.user_id, daily.user_id) as user_id,
        coalesce(by_channel.activity_date, daily.activity_date) as activity_date,
        coalesce(by_channel.messages, 0) as channel_messages,
        coalesce(daily.messages, 0) as daily_messages,
        coalesce(by_channel.opens, 0) as channel_opens,
        coalesce(daily.opens, 0) as daily_opens,
        coalesce(by_channel.clicks, 0) as channel_clicks,
        coalesce(daily.clicks, 0) as daily_clicks
    from by_channel
    full outer join daily
        on by_channel.user_id = daily.user_id
        and by_channel.activity_date = daily.activity_date
)

select * from compared
where channel_messages <> daily_messages
    or channel_opens <> daily_opens
    or channel_clicks <> daily_clicks
