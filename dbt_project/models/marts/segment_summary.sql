{#-
    Size and value of every segment, as of the profile's day: one row per tag × tag value
    (user_tags; tags with continuous number values such as scores are left out, they form no
    groups) plus one row for all users (tag_code and tag_value 'all').

    Privacy (k-anonymity, k = var segment_min_users): a group of fewer than k users is suppressed —
    its user count and every metric are null. When a tag has exactly one small group, its next
    smallest group is suppressed too, so the small one cannot be recovered by subtracting the
    others from the total.
-#}

{%- set min_users = marketing_int_var('segment_min_users', 1) %}

with profile as (
    select user_id, marketing_consent, orders_30d, revenue_30d, orders_total, revenue_total, propensity_score, as_of
    from {{ ref('user_profile') }}
),

tags as (
    select tag_code, name_en, name_zh
    from {{ ref('dim_tag') }}
    where value_type <> 'number'
),

memberships as (
    select user_tags.tag_code, user_tags.tag_value, user_tags.user_id
    from {{ ref('user_tags') }} as user_tags
    inner join tags on user_tags.tag_code = tags.tag_code
    union all
    select 'all' as tag_code, 'all' as tag_value, user_id
    from profile
),

groups as (
    select
        memberships.tag_code,
        memberships.tag_value,
        count(*) as users,
        count(case when profile.marketing_consent then 1 end) as consenting_users,
        count(case when profile.orders_30d > 0 then 1 end) as buyers_30d,
        sum(profile.orders_30d) as orders_30d,
        sum(profile.revenue_30d) as revenue_30d,
        sum(profile.orders_total) as orders_total,
        sum(profile.revenue_total) as revenue_total,
        avg(profile.propensity_score) as avg_propensity_score
    from memberships
    inner join profile on memberships.user_id = profile.user_id
    group by memberships.tag_code, memberships.tag_value
),

suppression as (
    select
        groups.*,
        count(case when users < {{ min_users }} then 1 end) over (partition by tag_code) as small_groups,
        row_number() over (partition by tag_code order by users, tag_value) as size_rank
    from groups
),

flagged as (
    select
        suppression.*,
        users < {{ min_users }} or (small_groups = 1 and size_rank = 2) as is_suppressed
    from suppression
),

totals as (
    select max(as_of) as as_of, count(*) as all_users from profile
),

metrics as (
    select
        flagged.*,
        {{ marketing_ratio('flagged.users', 'totals.all_users') }} as share_of_users,
        {{ marketing_ratio('flagged.buyers_30d', 'flagged.users') }} as conversion_rate_30d,
        flagged.revenue_total / nullif(flagged.orders_total, 0) as aov,
        totals.as_of
    from flagged
    cross join totals
),

{%- set published = [
    ('users', 'bigint'), ('share_of_users', 'double'), ('consenting_users', 'bigint'),
    ('buyers_30d', 'bigint'), ('conversion_rate_30d', 'double'), ('orders_30d', 'bigint'),
    ('revenue_30d', 'decimal(18, 2)'), ('orders_total', 'bigint'), ('revenue_total', 'decimal(18, 2)'),
    ('aov', 'decimal(18, 2)'), ('avg_propensity_score', 'double'),
] %}

summary as (
    select
        metrics.as_of,
        metrics.tag_code,
        coalesce(tags.name_en, 'All users') as tag_name_en,
        coalesce(tags.name_zh, '全部用户') as tag_name_zh,
        metrics.tag_value,
        metrics.is_suppressed,
        {%- for column, type in published %}
        cast(case when not metrics.is_suppressed then metrics.{{ column }} end as {{ type }}) as {{ column }},
        {%- endfor %}
        {{ min_users }} as min_group_users
    from metrics
    left join tags on metrics.tag_code = tags.tag_code
)

select * from summary
