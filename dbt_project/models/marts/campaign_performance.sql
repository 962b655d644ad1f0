{#-
    Campaign readout per campaign × variant × segment (the channel is the campaign's). Segment `all`
    is the whole arm; the other segments are the purchase stage at send time (stage_at_send in
    mkt_campaign_assignments), a pre-treatment attribute, so treatment and control stay comparable
    within each segment.

    Rates: CTR = clicked / sent and open rate = opened / sent (treatment only: control users get no
    message); CVR = converted / assigned per arm. Cost = messages sent × cost_per_send (treatment
    only); ROI = (revenue − cost) / cost.

    Lift of treatment over control, on the treatment row (null on the control row):
      lift = CVR_t − CVR_c, Wald interval lift ± z·sqrt(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c);
      p-value of the pooled two-proportion z-test; relative_lift = lift / CVR_c;
      incremental revenue = (revenue per assigned user_t − per user_c) × n_t.
    insufficient_sample flags an arm under var lift_min_arm_users or an expected count
    (n × pooled rate or n × (1 − pooled rate), either arm) under 5: the normal approximation
    behind the interval and the p-value does not hold there.
-#}

with assignments as (
    select * from {{ ref('mkt_campaign_assignments') }}
),

campaigns as (
    select campaign_id, name, channel, objective, start_date, cost_per_send
    from {{ ref('stg_campaigns') }}
),

segmented as (
    select 'all' as segment, assignments.* from assignments
    union all
    select stage_at_send as segment, assignments.* from assignments
),

-- Every campaign × segment gets both arms, an empty arm as zeros.
arm_spine as (
    select distinct segmented.campaign_id, segmented.segment, variants.variant
    from segmented
    cross join (
        {%- for variant in accepted_codes('variant') %}
        select '{{ variant }}' as variant{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as variants
),

arm_counts as (
    select
        campaign_id,
        segment,
        variant,
        count(*) as assigned_users,
        sum(messages_sent) as sent,
        count(case when opened then 1 end) as opened,
        count(case when clicked then 1 end) as clicked,
        count(case when converted then 1 end) as converted,
        sum(conversion_orders) as conversion_orders,
        sum(attributed_revenue) as revenue,
        min(case when window_complete then 1 else 0 end) = 1 as window_complete
    from segmented
    group by campaign_id, segment, variant
),

arms as (
    select
        arm_spine.campaign_id,
        arm_spine.segment,
        arm_spine.variant,
        cast(coalesce(arm_counts.assigned_users, 0) as bigint) as assigned_users,
        cast(coalesce(arm_counts.sent, 0) as bigint) as sent,
        cast(coalesce(arm_counts.opened, 0) as bigint) as opened,
        cast(coalesce(arm_counts.clicked, 0) as bigint) as clicked,
        cast(coalesce(arm_counts.converted, 0) as bigint) as converted,
        cast(coalesce(arm_counts.conversion_orders, 0) as bigint) as conversion_orders,
        {{ to_money('coalesce(arm_counts.revenue, 0)') }} as revenue,
        coalesce(arm_counts.window_complete, true) as window_complete
    from arm_spine
    left join arm_counts
        on arm_spine.campaign_id = arm_counts.campaign_id
        and arm_spine.segment = arm_counts.segment
        and arm_spine.variant = arm_counts.variant
),

pairs as (
    select
        treatment.campaign_id,
        treatment.segment,
        treatment.assigned_users as n_t,
        control.assigned_users as n_c,
        treatment.converted as x_t,
        control.converted as x_c,
        {{ ratio('treatment.converted', 'treatment.assigned_users') }} as p_t,
        {{ ratio('control.converted', 'control.assigned_users') }} as p_c,
        {{ ratio('treatment.converted + control.converted',
                           'treatment.assigned_users + control.assigned_users') }} as p_pooled,
        {{ ratio('treatment.revenue', 'treatment.assigned_users') }} as revenue_per_user_t,
        {{ ratio('control.revenue', 'control.assigned_users') }} as revenue_per_user_c
    from arms as treatment
    inner join arms as control
        on treatment.campaign_id = control.campaign_id
        and treatment.segment = control.segment
    where treatment.variant = 'treatment'
        and control.variant = 'control'
),

errors as (
    select
        pairs.*,
        p_t - p_c as lift,
        sqrt(p_t * (1 - p_t) / nullif(n_t, 0) + p_c * (1 - p_c) / nullif(n_c, 0)) as se_unpooled,
        sqrt(p_pooled * (1 - p_pooled) * (1.0 / nullif(n_t, 0) + 1.0 / nullif(n_c, 0))) as se_pooled
    from pairs
),

tests as (
    select
        errors.*,
        (p_t - p_c) / nullif(se_pooled, 0) as z_score
    from errors
),

-- Statistics are rounded to 6 decimals: the normal tail approximation is good to ~1e-7.
lifts as (
    select
        campaign_id,
        segment,
        round(lift, 6) as lift,
        round(lift - {{ marketing_critical_z() }} * se_unpooled, 6) as lift_ci_low,
        round(lift + {{ marketing_critical_z() }} * se_unpooled, 6) as lift_ci_high,
        round(lift / nullif(p_c, 0), 6) as relative_lift,
        round(z_score, 6) as z_score,
        round({{ marketing_two_sided_p_value('z_score') }}, 6) as p_value,
        coalesce(
            n_t < {{ int_var('lift_min_arm_users') }}
            or n_c < {{ int_var('lift_min_arm_users') }}
            or least(n_t, n_c) * least(p_pooled, 1 - p_pooled) < 5,
            true
        ) as insufficient_sample,
        round(lift * n_t, 6) as incremental_conversions,
        (revenue_per_user_t - revenue_per_user_c) * n_t as incremental_revenue
    from tests
),

performance as (
    select
        arms.campaign_id,
        campaigns.name as campaign_name,
        campaigns.channel,
        campaigns.objective,
        campaigns.start_date as campaign_start_date,
        arms.variant,
        arms.segment,
        arms.assigned_users,
        arms.sent,
        arms.opened,
        arms.clicked,
        arms.converted,
        arms.conversion_orders,
        {{ ratio('arms.opened', 'arms.sent') }} as open_rate,
        {{ ratio('arms.clicked', 'arms.sent') }} as ctr,
        {{ ratio('arms.converted', 'arms.assigned_users') }} as cvr,
        arms.revenue,
        {{ to_money('arms.revenue / nullif(arms.assigned_users, 0)') }} as revenue_per_user,
        {{ to_money('arms.sent * campaigns.cost_per_send') }} as cost,
        {{ ratio('arms.revenue - arms.sent * campaigns.cost_per_send',
                           'arms.sent * campaigns.cost_per_send') }} as roi,
        lifts.lift,
        lifts.lift_ci_low,
        lifts.lift_ci_high,
        lifts.relative_lift,
        lifts.z_score,
        lifts.p_value,
        lifts.insufficient_sample,
        lifts.incremental_conversions,
        {{ to_money('lifts.incremental_revenue') }} as incremental_revenue,
        {{ ratio('lifts.incremental_revenue - arms.sent * campaigns.cost_per_send',
                           'arms.sent * campaigns.cost_per_send') }} as incremental_roi,
        {{ attribution_window_days() }} as attribution_window_days,
        arms.window_complete,
        as_of.as_of
    from arms
    inner join campaigns on arms.campaign_id = campaigns.campaign_id
    cross join (select max(as_of) as as_of from assignments) as as_of
    left join lifts
        on arms.campaign_id = lifts.campaign_id
        and arms.segment = lifts.segment
        and arms.variant = 'treatment'
)

select * from performance
