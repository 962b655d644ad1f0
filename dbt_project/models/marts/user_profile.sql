{{ config(materialized='table') }}
{#-
    The wide user profile (用户画像): one row per user as of one business day, the user facts
    (facts.fct_user_facts, nothing after the as-of day) and one column per tag a BI tool filters
    on, named by its tag code (tag_catalog.yml; docs/tags.md). Rule tags turn facts into labels
    with cut points from dbt vars: a fixed var is used as written, a var left `auto` takes the
    cut points derived from this shop's distribution in marts.tag_cut_points (the mart BI users
    read them from); model tags come from the ML tables (left join: a user without a cluster or a
    score gets nulls).
-#}

{%- set high_share = number_var('value_tier_high_share') -%}
{%- set mid_share = number_var('value_tier_mid_share') -%}
{%- if mid_share < high_share -%}
    {{ exceptions.raise_compiler_error("var value_tier_mid_share must not be less than value_tier_high_share") }}
{%- endif %}

with facts as (
    select * from {{ ref('fct_user_facts') }}
),

-- The derived cut points of the vars left `auto`, one row (fixed vars are literals below).
cut_points as (
    {{ tag_cut_points_pivot(ref('tag_cut_points')) }}
),

-- Buyers of the last 365 days ranked by revenue: the share of buyers spending at least as much.
buyer_ranks as (
    select
        user_id,
        cume_dist() over (order by revenue_365d desc) as revenue_top_share
    from facts
    where orders_365d > 0
),

clusters as (
    select user_id, cluster_id, cluster_name
    from {{ source('ml', 'user_clusters') }}
),

-- The latest score per user that describes a day up to the profile's as-of day.
latest_propensity as (
    select
        user_id,
        score,
        decile,
        row_number() over (partition by user_id order by as_of desc, model_version desc) as score_rank
    from {{ source('ml', 'purchase_propensity') }}
    where as_of <= (select max(as_of) from facts)
),

rfm_scores as (
    select
        facts.user_id,
        {{ score_at_most('facts.recency_days', cut_points_of('rfm_recency_days', 4)) }} as rfm_r,
        case when facts.orders_total > 0 then
            {{ score_at_least('facts.orders_365d', cut_points_of('rfm_frequency_orders', 4)) }}
        end as rfm_f,
        case when facts.orders_total > 0 then
            {{ score_at_least('facts.revenue_365d', cut_points_of('rfm_monetary_cny', 4)) }}
        end as rfm_m
    from facts
    cross join cut_points
),

profile as (
    select
        facts.user_id,
        facts.gender,
        facts.age,
        facts.city,
        facts.province,
        facts.city_tier,
        facts.register_channel,
        facts.marketing_consent,
        facts.registered_at,
        facts.tenure_days,
        facts.first_active_date,
        facts.last_active_date,
        facts.first_order_date,
        facts.last_order_date,
        facts.recency_days,
        facts.orders_30d,
        facts.revenue_30d,
        facts.orders_90d,
        facts.revenue_90d,
        facts.orders_365d,
        facts.revenue_365d,
        facts.orders_total,
        facts.revenue_total,
        facts.aov,
        facts.coupon_order_share,
        facts.active_days_30d,
        facts.events_30d,
        facts.preferred_platform,
        facts.preferred_hour_slot,
        -- demographic
        {{ age_band('facts.age') }} as age_band,
        {{ city_tier_label('facts.city_tier') }} as city_tier_label,
        -- consumption
        case
            when buyer_ranks.user_id is null then 'none'
            when buyer_ranks.revenue_top_share <= {{ high_share }} then 'high'
            when buyer_ranks.revenue_top_share <= {{ mid_share }} then 'mid'
            else 'low'
        end as value_tier,
        cast(rfm_scores.rfm_r as integer) as rfm_r,
        cast(rfm_scores.rfm_f as integer) as rfm_f,
        cast(rfm_scores.rfm_m as integer) as rfm_m,
        {{ rfm_segment('rfm_scores.rfm_r', 'rfm_scores.rfm_f', 'rfm_scores.rfm_m') }} as rfm_segment,
        case when facts.orders_365d = 0 then 'none' else
            {{ band('facts.orders_365d', cut_points_of('frequency_band_orders', 3),
                    ['one_time', 'occasional', 'regular', 'frequent']) }}
        end as frequency_band,
        {{ band('facts.aov_365d', cut_points_of('aov_band_cny', 3), ['low', 'medium', 'high', 'premium']) }}
            as aov_band,
        case
            when facts.price_sensitivity_score is null then 'unknown'
            when facts.price_sensitivity_score >= {{ number_var('price_sensitivity_high') }} then 'high'
            when facts.price_sensitivity_score >= {{ number_var('price_sensitivity_medium') }} then 'medium'
            else 'low'
        end as price_sensitivity,
        facts.price_sensitivity_score,
        facts.coupon_order_share_90d,
        facts.discount_depth_90d,
        -- interest
        facts.top_category_l1,
        facts.top_category_l1_share,
        facts.top_category_l2,
        facts.top_category_l2_share,
        facts.category_affinities,
        case when facts.branded_lines_90d < {{ integer_var('brand_loyalty_min_lines') }} then 'unknown' else
            {{ band('facts.brand_concentration', cut_points_var('brand_loyalty_hhi', 2), ['explorer', 'mixed', 'loyal']) }}
        end as brand_loyalty,
        facts.brand_concentration,
        -- behaviour
        facts.best_hour_slot,
        facts.best_weekday,
        {{ band('facts.active_days_30d', cut_points_of('activity_level_days', 3), ['inactive', 'low', 'medium', 'high']) }}
            as activity_level,
        coalesce(
            {{ dbt.datediff('facts.last_cart_abandoned_date', 'facts.as_of', 'day') }} < {{ integer_var('cart_abandoner_days') }}
            and (facts.last_order_date is null or facts.last_order_date < facts.last_cart_abandoned_date),
            false
        ) as is_cart_abandoner,
        facts.view_to_cart_rate_90d,
        facts.cart_to_buy_rate_90d,
        facts.cart_abandonment_rate_90d,
        case when facts.reviews_total = 0 then 'none' else
            {{ band('facts.avg_rating', cut_points_var('review_style_rating', 2), ['critical', 'balanced', 'generous']) }}
        end as review_style,
        facts.avg_rating,
        -- lifecycle
        facts.lifecycle_stage,
        {{ tenure_band('facts.tenure_days') }} as tenure_band,
        facts.days_inactive,
        -- marketing
        coalesce(
            facts.coupon_orders_90d >= {{ integer_var('coupon_lover_min_orders') }}
            and facts.coupon_order_share_90d >= {{ number_var('coupon_lover_min_share') }},
            false
        ) as coupon_lover,
        facts.best_channel,
        case when facts.messages_90d = 0 then 'unknown' else
            {{ band('facts.open_rate_90d', cut_points_var('campaign_responsiveness_open_rate', 2),
                    ['low', 'medium', 'high']) }}
        end as campaign_responsiveness,
        facts.messages_90d,
        facts.open_rate_90d,
        facts.conversion_rate_90d,
        -- model
        cast(clusters.cluster_id as integer) as cluster_id,
        clusters.cluster_name,
        cast(latest_propensity.score as {{ type_double() }}) as propensity_score,
        cast(latest_propensity.decile as integer) as propensity_decile,
        facts.as_of
    from facts
    cross join cut_points
    left join buyer_ranks on facts.user_id = buyer_ranks.user_id
    left join rfm_scores on facts.user_id = rfm_scores.user_id
    left join clusters on facts.user_id = clusters.user_id
    left join latest_propensity
        on facts.user_id = latest_propensity.user_id
        and latest_propensity.score_rank = 1
)

select * from profile
