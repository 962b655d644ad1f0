-- The hand-written floor (bench/handwritten.py): the user profile columns the pandas peer computes
-- (bench/peer.py PEER_COLUMNS), written as one DuckDB script straight from the landed Parquet, the
-- way a SQL analyst would: no dbt, no SCD2 history tables, no quarantine tables, no tests. The
-- rules are the pipeline's (staging's reject rules, int_user_daily, fct_user_facts, user_profile);
-- money is in integer cents. Placeholders in braces are filled by bench/handwritten.py: the landing
-- folder, the last day, the business timezone, the tag vars and the cut-point selects.

create or replace temp table hw_profile as
with

-- ── raw: every landed day up to the last one, with its landing day ───────────────────────────
raw_users as (
    select *, cast(date as date) as partition_date
    from read_parquet('{landing}/users/date=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(date as date) <= date '{last_day}'
),
raw_events as (
    select *, cast(date as date) as partition_date
    from read_parquet('{landing}/events/date=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(date as date) <= date '{last_day}'
),
raw_orders as (
    select *, cast(date as date) as partition_date
    from read_parquet('{landing}/orders/date=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(date as date) <= date '{last_day}'
),
raw_reviews as (
    select *, cast(date as date) as partition_date
    from read_parquet('{landing}/reviews/date=*/*.parquet', hive_partitioning = true, union_by_name = true)
    where cast(date as date) <= date '{last_day}'
),
known_users as (select distinct user_id from raw_users where user_id is not null),
known_orders as (select distinct order_id from raw_orders where order_id is not null),

-- ── staging: the rows no reject rule matches ─────────────────────────────────────────────────
-- A timestamp is faulty when missing or when its local day is not the landing day; text is
-- malformed with U+FFFD or a C0 control character; of duplicate keys the first landed row is kept.
users_ranked as (
    select
        *,
        row_number() over (
            partition by user_id, updated_at
            order by partition_date, gender, birth_date, city, province, city_tier, registered_at,
                register_channel, phone, email, marketing_consent
        ) as copy_number
    from raw_users
),
users_clean as (
    select *
    from users_ranked
    where user_id is not null
        and copy_number = 1
        and updated_at is not null
        and cast(timezone('{timezone}', updated_at) as date) = partition_date
        and not coalesce(
            regexp_matches(concat_ws('|', user_id, gender, city, province, register_channel, phone, email),
                '[\x00-\x08�]'),
            false
        )
),
users as (
    select
        user_id,
        case
            when lower(trim(gender)) in ('male', 'm', '男') then 'male'
            when lower(trim(gender)) in ('female', 'f', '女') then 'female'
            else 'unknown'
        end as gender,
        birth_date,
        nullif(trim(city), '') as city,
        nullif(trim(province), '') as province,
        city_tier,
        registered_at,
        cast(timezone('{timezone}', registered_at) as date) as registered_date,
        lower(trim(register_channel)) as register_channel,
        coalesce(marketing_consent, false) as marketing_consent,
        cast(timezone('{timezone}', updated_at) as date) as valid_from_date,
        cast(timezone('{timezone}', lead(updated_at) over (partition by user_id order by updated_at)) as date)
            as valid_to_date
    from users_clean
),
events as (
    select
        user_id,
        session_id,
        lower(trim(event_type)) as event_type,
        cast(timezone('{timezone}', occurred_at) as date) as activity_date,
        lower(trim(platform)) as platform,
        hour(timezone('{timezone}', occurred_at)) as local_hour
    from (
        select
            *,
            row_number() over (
                partition by event_id
                order by partition_date, occurred_at, user_id, session_id, event_type, product_id, search_query,
                    platform
            ) as copy_number
        from raw_events
    )
    where event_id is not null
        and user_id in (select user_id from known_users)
        and copy_number = 1
        and occurred_at is not null
        and cast(timezone('{timezone}', occurred_at) as date) = partition_date
        and not coalesce(
            regexp_matches(
                concat_ws('|', event_id, user_id, session_id, event_type, product_id, search_query, platform),
                '[\x00-\x08�]'
            ),
            false
        )
        and lower(trim(event_type)) in ('view', 'search', 'click', 'add_to_cart', 'favorite', 'purchase')
        and lower(trim(platform)) in ('app', 'web', 'mini_program')
),
orders as (
    select
        user_id,
        lower(trim(status)) as status,
        coalesce(trim(coupon_id), '') <> '' as used_coupon,
        cast(round(paid_amount * 100) as bigint) as paid_cents,
        cast(timezone('{timezone}', ordered_at) as date) as activity_date
    from (
        select
            *,
            row_number() over (
                partition by order_id
                order by partition_date, ordered_at, user_id, status, platform, coupon_id, gross_amount,
                    discount_amount, paid_amount
            ) as copy_number
        from raw_orders
    )
    where order_id is not null
        and user_id in (select user_id from known_users)
        and copy_number = 1
        and not coalesce(gross_amount < 0 or discount_amount < 0 or paid_amount < 0, false)
        and ordered_at is not null
        and cast(timezone('{timezone}', ordered_at) as date) = partition_date
        and not coalesce(
            regexp_matches(concat_ws('|', order_id, user_id, status, platform, coupon_id), '[\x00-\x08�]'), false
        )
        and lower(trim(status)) in ('paid', 'cancelled', 'refunded')
        and lower(trim(platform)) in ('app', 'web', 'mini_program')
),
reviews as (
    select user_id, rating, cast(timezone('{timezone}', created_at) as date) as activity_date
    from (
        select
            *,
            row_number() over (
                partition by review_id
                order by partition_date, created_at, order_id, user_id, product_id, rating, review_text
            ) as copy_number
        from raw_reviews
    )
    where review_id is not null
        and user_id in (select user_id from known_users)
        and copy_number = 1
        and created_at is not null
        and cast(timezone('{timezone}', created_at) as date) = partition_date
        and not coalesce(
            regexp_matches(concat_ws('|', review_id, order_id, user_id, product_id, review_text), '[\x00-\x08�]'),
            false
        )
        and (order_id is null or order_id in (select order_id from known_orders))
        and rating between 1 and 5
),

-- ── one row per user and active day ──────────────────────────────────────────────────────────
event_days as (
    select
        user_id,
        activity_date,
        count(*) as events,
        count(*) filter (where local_hour between 0 and 5) as events_night,
        count(*) filter (where local_hour between 6 and 11) as events_morning,
        count(*) filter (where local_hour between 12 and 17) as events_afternoon,
        count(*) filter (where local_hour between 18 and 21) as events_evening,
        count(*) filter (where local_hour between 22 and 23) as events_late_night,
        count(*) filter (where platform = 'app') as events_app,
        count(*) filter (where platform = 'web') as events_web,
        count(*) filter (where platform = 'mini_program') as events_mini_program
    from events
    group by user_id, activity_date
),
abandoned_days as (
    select user_id, activity_date, count(*) as sessions_abandoned
    from (
        select user_id, session_id, activity_date
        from events
        group by user_id, session_id, activity_date
        having bool_or(event_type = 'add_to_cart') and not bool_or(event_type = 'purchase')
    )
    group by user_id, activity_date
),
order_days as (
    select
        user_id,
        activity_date,
        count(*) filter (where status = 'paid') as orders,
        coalesce(sum(paid_cents) filter (where status = 'paid'), 0) as revenue_cents,
        count(*) filter (where status = 'paid' and used_coupon) as coupon_orders
    from orders
    group by user_id, activity_date
),
review_days as (
    select user_id, activity_date, count(*) as reviews, sum(rating) as rating_sum
    from reviews
    group by user_id, activity_date
),
daily as (
    select
        user_id,
        activity_date,
        coalesce(e.events, 0) as events,
        coalesce(e.events_night, 0) as events_night,
        coalesce(e.events_morning, 0) as events_morning,
        coalesce(e.events_afternoon, 0) as events_afternoon,
        coalesce(e.events_evening, 0) as events_evening,
        coalesce(e.events_late_night, 0) as events_late_night,
        coalesce(e.events_app, 0) as events_app,
        coalesce(e.events_web, 0) as events_web,
        coalesce(e.events_mini_program, 0) as events_mini_program,
        coalesce(a.sessions_abandoned, 0) as sessions_abandoned,
        coalesce(o.orders, 0) as orders,
        coalesce(o.revenue_cents, 0) as revenue_cents,
        coalesce(o.coupon_orders, 0) as coupon_orders,
        coalesce(r.reviews, 0) as reviews,
        coalesce(r.rating_sum, 0) as rating_sum
    from event_days as e
    full outer join order_days as o using (user_id, activity_date)
    full outer join review_days as r using (user_id, activity_date)
    left join abandoned_days as a using (user_id, activity_date)
),

-- ── per user, as of the latest landed day (activity or user version) ─────────────────────────
as_of as (
    select greatest((select max(activity_date) from daily), (select max(valid_from_date) from users)) as as_of_date
),
dated as (
    select daily.*, date_diff('day', daily.activity_date, as_of.as_of_date) as days_ago, as_of.as_of_date
    from daily cross join as_of
    where daily.activity_date <= as_of.as_of_date
),

-- Lifecycle thresholds: a fixed var as written, `auto` from the gaps between repeat purchase days.
purchase_gaps as (
    select
        user_id,
        date_diff('day', lag(activity_date) over (partition by user_id order by activity_date), activity_date)
            as gap_days,
        days_ago
    from dated
    where orders > 0
),
rhythm as (
    select count(distinct user_id) as repeat_buyers, quantile_disc(gap_days, 0.5) as p50, quantile_disc(gap_days, 0.9) as p90
    from purchase_gaps
    where gap_days is not null and days_ago < 365
),
auto_lifecycle as (
    select
        case when repeat_buyers >= {min_repeat_buyers} then greatest(p50, {silent_floor}) else {silent_floor} end
            as auto_silent,
        case when repeat_buyers >= {min_repeat_buyers} then greatest(p90, {churned_floor}) else {churned_floor} end
            as auto_churned
    from rhythm
),
silent_threshold as (
    select
        coalesce(
            {fixed_silent},
            case when {fixed_churned} is null then auto_silent else least(auto_silent, {fixed_churned}) end
        ) as silent_days,
        auto_churned
    from auto_lifecycle
),
lifecycle as (
    select
        silent_days,
        coalesce({fixed_churned}, greatest(auto_churned, silent_days)) as churned_days,
        coalesce({fixed_reactivated}, silent_days) as reactivated_days
    from silent_threshold
),

-- The latest day a user came back after more than the silent threshold without activity.
comebacks as (
    select user_id, max(activity_date) as last_reactivated_date
    from (
        select
            user_id,
            activity_date,
            date_diff('day', lag(activity_date) over (partition by user_id order by activity_date), activity_date)
                as gap_days
        from dated
    )
    where gap_days > (select silent_days from lifecycle) + 1
    group by user_id
),
weekday_events as (
    select user_id, isodow(activity_date) as weekday, sum(events) as events
    from dated
    where days_ago < 90
    group by user_id, weekday
),
best_weekdays as (
    select user_id, arg_max(weekday, events * 8 - weekday) as weekday
    from weekday_events
    group by user_id
    having sum(events) > 0
),
facts as (
    select
        user_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        min(activity_date) filter (where orders > 0) as first_order_date,
        max(activity_date) filter (where orders > 0) as last_order_date,
        max(activity_date) filter (where sessions_abandoned > 0) as last_cart_abandoned_date,
        sum(orders) as orders_total,
        sum(revenue_cents) as revenue_total,
        sum(coupon_orders) as coupon_orders_total,
        coalesce(sum(coupon_orders) filter (where days_ago < 90), 0) as coupon_orders_90d,
        count(*) filter (where days_ago < 30) as active_days_30d,
        coalesce(sum(events) filter (where days_ago < 30), 0) as events_30d,
        sum(reviews) as reviews_total,
        sum(rating_sum) as rating_sum_total,
        coalesce(sum(orders) filter (where days_ago < 30), 0) as orders_30d,
        coalesce(sum(revenue_cents) filter (where days_ago < 30), 0) as revenue_30d,
        coalesce(sum(orders) filter (where days_ago < 90), 0) as orders_90d,
        coalesce(sum(revenue_cents) filter (where days_ago < 90), 0) as revenue_90d,
        coalesce(sum(orders) filter (where days_ago < 365), 0) as orders_365d,
        coalesce(sum(revenue_cents) filter (where days_ago < 365), 0) as revenue_365d,
        {preferred_platform} as preferred_platform,
        {preferred_hour_slot} as preferred_hour_slot,
        {best_hour_slot} as best_hour_slot
    from dated
    group by user_id
),

-- ── the profile of every current user ────────────────────────────────────────────────────────
base as (
    select
        users.user_id,
        users.gender,
        users.birth_date,
        users.city,
        users.province,
        users.city_tier,
        users.register_channel,
        users.marketing_consent,
        users.registered_at,
        users.registered_date,
        as_of.as_of_date,
        facts.first_active_date,
        facts.last_active_date,
        facts.first_order_date,
        facts.last_order_date,
        facts.last_cart_abandoned_date,
        cast(coalesce(facts.orders_30d, 0) as bigint) as orders_30d,
        cast(coalesce(facts.revenue_30d, 0) as bigint) as revenue_30d,
        cast(coalesce(facts.orders_90d, 0) as bigint) as orders_90d,
        cast(coalesce(facts.revenue_90d, 0) as bigint) as revenue_90d,
        cast(coalesce(facts.orders_365d, 0) as bigint) as orders_365d,
        cast(coalesce(facts.revenue_365d, 0) as bigint) as revenue_365d,
        cast(coalesce(facts.orders_total, 0) as bigint) as orders_total,
        cast(coalesce(facts.revenue_total, 0) as bigint) as revenue_total,
        cast(coalesce(facts.coupon_orders_90d, 0) as bigint) as coupon_orders_90d,
        cast(coalesce(facts.coupon_orders_total, 0) as bigint) as coupon_orders_total,
        cast(coalesce(facts.active_days_30d, 0) as bigint) as active_days_30d,
        cast(coalesce(facts.events_30d, 0) as bigint) as events_30d,
        cast(coalesce(facts.reviews_total, 0) as bigint) as reviews_total,
        cast(coalesce(facts.rating_sum_total, 0) as bigint) as rating_sum_total,
        facts.preferred_platform,
        facts.preferred_hour_slot,
        coalesce(facts.best_hour_slot, 'unknown') as best_hour_slot,
        coalesce(
            ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][best_weekdays.weekday], 'unknown'
        ) as best_weekday,
        comebacks.last_reactivated_date,
        date_diff('day', users.registered_date, as_of.as_of_date) as tenure_days,
        date_diff('day', coalesce(facts.last_active_date, users.registered_date), as_of.as_of_date)
            as days_inactive,
        date_diff('day', facts.last_order_date, as_of.as_of_date) as recency_days,
        date_part('year', age(as_of.as_of_date, users.birth_date)) as age
    from users
    cross join as_of
    left join facts on facts.user_id = users.user_id
    left join best_weekdays on best_weekdays.user_id = users.user_id
    left join comebacks on comebacks.user_id = users.user_id
    where users.valid_from_date <= as_of.as_of_date
        and (users.valid_to_date is null or users.valid_to_date > as_of.as_of_date)
),
measures as (
    select
        *,
        -- CNY to the cent rounded half up, as the pipeline's decimal(18, 2) does.
        cast(floor(cast(revenue_365d as double) / 100 / nullif(orders_365d, 0) * 100 + 0.5) / 100 as decimal(18, 2))
            as aov_365d,
        cast(revenue_365d / 100.0 as decimal(18, 2)) as revenue_365d_cny
    from base
),
derivation as (
    select
        recency_days,
        orders_total,
        orders_365d,
        revenue_365d_cny as revenue_365d,
        aov_365d,
        active_days_30d
    from measures
),
cuts as (
    {cut_points}
),
buyers_365d as (
    select user_id, cume_dist() over (order by revenue_365d desc) as revenue_top_share
    from measures
    where orders_365d > 0
),
scored as (
    select
        measures.*,
        cuts.*,
        buyers_365d.revenue_top_share,
        case
            when recency_days is null then null
            when recency_days <= rfm_recency_days_1 then 5
            when recency_days <= rfm_recency_days_2 then 4
            when recency_days <= rfm_recency_days_3 then 3
            when recency_days <= rfm_recency_days_4 then 2
            else 1
        end as rfm_r,
        case
            when orders_total = 0 then null
            when orders_365d >= rfm_frequency_orders_4 then 5
            when orders_365d >= rfm_frequency_orders_3 then 4
            when orders_365d >= rfm_frequency_orders_2 then 3
            when orders_365d >= rfm_frequency_orders_1 then 2
            else 1
        end as rfm_f,
        case
            when orders_total = 0 then null
            when revenue_365d_cny >= rfm_monetary_cny_4 then 5
            when revenue_365d_cny >= rfm_monetary_cny_3 then 4
            when revenue_365d_cny >= rfm_monetary_cny_2 then 3
            when revenue_365d_cny >= rfm_monetary_cny_1 then 2
            else 1
        end as rfm_m
    from measures
    cross join cuts
    left join buyers_365d on buyers_365d.user_id = measures.user_id
)

select
    user_id,
    gender,
    age,
    city,
    province,
    city_tier,
    register_channel,
    marketing_consent,
    registered_at,
    tenure_days,
    first_active_date,
    last_active_date,
    first_order_date,
    last_order_date,
    recency_days,
    orders_30d,
    revenue_30d,
    orders_90d,
    revenue_90d,
    orders_365d,
    revenue_365d,
    orders_total,
    revenue_total,
    round(revenue_total / nullif(orders_total, 0)) as aov,
    coupon_orders_total / nullif(orders_total, 0) as coupon_order_share,
    active_days_30d,
    events_30d,
    preferred_platform,
    preferred_hour_slot,
    case
        when age is null then 'unknown'
        when age < 18 then 'under_18'
        when age < 25 then '18_24'
        when age < 30 then '25_29'
        when age < 35 then '30_34'
        when age < 40 then '35_39'
        when age < 50 then '40_49'
        else '50_plus'
    end as age_band,
    case city_tier
        when 1 then 'tier_1' when 2 then 'new_tier_1' when 3 then 'tier_2' when 4 then 'tier_3'
        when 5 then 'tier_4_below' else 'unknown'
    end as city_tier_label,
    case
        when revenue_top_share is null then 'none'
        when revenue_top_share <= {value_tier_high_share} then 'high'
        when revenue_top_share <= {value_tier_mid_share} then 'mid'
        else 'low'
    end as value_tier,
    rfm_r,
    rfm_f,
    rfm_m,
    case
        when rfm_r is null or rfm_f is null or rfm_m is null then 'no_purchase'
        {rfm_segments}
    end as rfm_segment,
    case
        when orders_365d = 0 then 'none'
        when orders_365d < frequency_band_orders_1 then 'one_time'
        when orders_365d < frequency_band_orders_2 then 'occasional'
        when orders_365d < frequency_band_orders_3 then 'regular'
        else 'frequent'
    end as frequency_band,
    case
        when aov_365d is null then 'unknown'
        when aov_365d < aov_band_cny_1 then 'low'
        when aov_365d < aov_band_cny_2 then 'medium'
        when aov_365d < aov_band_cny_3 then 'high'
        else 'premium'
    end as aov_band,
    coupon_orders_90d / nullif(orders_90d, 0) as coupon_order_share_90d,
    best_hour_slot,
    best_weekday,
    case
        when active_days_30d < activity_level_days_1 then 'inactive'
        when active_days_30d < activity_level_days_2 then 'low'
        when active_days_30d < activity_level_days_3 then 'medium'
        else 'high'
    end as activity_level,
    coalesce(
        date_diff('day', last_cart_abandoned_date, as_of_date) < {cart_abandoner_days}
        and (last_order_date is null or last_order_date < last_cart_abandoned_date),
        false
    ) as is_cart_abandoner,
    case
        when reviews_total = 0 then 'none'
        when rating_sum_total / reviews_total < {review_critical} then 'critical'
        when rating_sum_total / reviews_total < {review_generous} then 'balanced'
        else 'generous'
    end as review_style,
    rating_sum_total / nullif(reviews_total, 0) as avg_rating,
    case
        when days_inactive > (select churned_days from lifecycle) then 'churned'
        when days_inactive > (select silent_days from lifecycle) then 'silent'
        when tenure_days < {lifecycle_new_days} then 'new'
        when date_diff('day', last_reactivated_date, as_of_date) < (select reactivated_days from lifecycle)
            then 'reactivated'
        else 'active'
    end as lifecycle_stage,
    case
        when tenure_days is null then 'unknown'
        when tenure_days < 30 then 'under_1m'
        when tenure_days < 90 then '1_3m'
        when tenure_days < 365 then '3_12m'
        when tenure_days < 1095 then '1_3y'
        else '3y_plus'
    end as tenure_band,
    days_inactive,
    coalesce(
        coupon_orders_90d >= {coupon_lover_min_orders}
        and coupon_orders_90d / nullif(orders_90d, 0) >= {coupon_lover_min_share},
        false
    ) as coupon_lover,
    as_of_date as as_of
from scored
order by user_id
