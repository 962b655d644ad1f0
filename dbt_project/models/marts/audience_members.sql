{#-
    Who to contact today, and how: the members of every audience (definitions in
    dbt_project/audiences/*.yml, compiled into mkt_audience_candidates) as of the profile's day.

    * Users without marketing consent are never members.
    * Frequency cap: a user is kept in at most var audience_max_per_user audiences, those with the
      best (lowest) priority; audience_rank is the user's rank among them.
    * channel: the user's best channel, or the audience's default when it is unknown; send_hour: a
      local hour within the user's most active hour slot, outside the quiet hours 22:00-08:00.
    * recommended_products: the user's top var audience_recommended_products recommendations
      (user_recommendations), product ids comma-joined in rank order; null without any.
-#}

with candidates as (
    select * from {{ ref('mkt_audience_candidates') }}
),

profile as (
    select user_id, marketing_consent, best_channel, best_hour_slot, value_tier, propensity_score, as_of
    from {{ ref('user_profile') }}
),

consenting as (
    select
        candidates.*,
        profile.best_channel,
        profile.best_hour_slot,
        profile.value_tier,
        profile.propensity_score,
        profile.as_of
    from candidates
    inner join profile on candidates.user_id = profile.user_id
    where coalesce(profile.marketing_consent, false)
),

products as (
    select
        user_id,
        {{ dbt.listagg('product_id', "','", 'order by rank') }} as recommended_products
    from {{ ref('user_recommendations') }}
    where rank <= {{ int_var('audience_recommended_products', 1) }}
    group by user_id
),

ranked as (
    select
        consenting.*,
        row_number() over (partition by user_id order by priority, audience_id) as audience_rank
    from consenting
),

members as (
    select
        as_of,
        audience_id,
        audience_name,
        audience_name_zh,
        ranked.user_id,
        cast(audience_rank as integer) as audience_rank,
        cast(priority as integer) as priority,
        recommended_action,
        case
            when best_channel in ('{{ accepted_codes("channel") | join("', '") }}') then best_channel
            else default_channel
        end as channel,
        cast({{ marketing_send_hour('best_hour_slot') }} as integer) as send_hour,
        value_tier,
        propensity_score,
        products.recommended_products
    from ranked
    left join products on ranked.user_id = products.user_id
    where audience_rank <= {{ int_var('audience_max_per_user', 1) }}
)

select * from members
