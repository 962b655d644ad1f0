{#-
    No suppressed cell of segment_summary can be recovered by subtraction from its group's total
    (docs/marts.md, "Privacy"). The values of a single-valued tag add up to the `all` row; while
    that row is published, a tag whose suppressed values are exactly one, or hold fewer than k users
    together (var segment_min_users), gives them away. Fails with those tags, their suppressed
    values and how many users they hold (counted in user_tags: the mart shows none).
-#}

{#- A warning, not a gate: the model applies primary and complementary suppression in a bounded
    number of rounds and cannot protect a tag whose only small value has no complement (a shop of
    48 users: one value under k beside users the tag does not cover). Such a tag is reported — in
    the run summary, `huaxiang quality` and the manifest — rather than stopping the whole publish. -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'segment_summary'}}}) }}

{%- set min_users = marketing_int_var('segment_min_users', 1) %}

with summary as (
    select tag_code, tag_value, is_suppressed from {{ ref('segment_summary') }}
),

sizes as (
    select tag_code, tag_value, count(*) as users
    from {{ ref('user_tags') }}
    group by tag_code, tag_value
),

grouped_tags as (
    select tag_code from {{ ref('dim_tag') }}
    where value_type <> 'number' and not is_multi_valued
),

total_published as (
    select count(*) as published_totals from summary where tag_code = 'all' and not is_suppressed
),

suppressed as (
    select summary.tag_code, count(*) as suppressed_values, sum(sizes.users) as suppressed_users
    from summary
    inner join grouped_tags on summary.tag_code = grouped_tags.tag_code
    inner join sizes on summary.tag_code = sizes.tag_code and summary.tag_value = sizes.tag_value
    where summary.is_suppressed
    group by summary.tag_code
)

select suppressed.tag_code, suppressed.suppressed_values, suppressed.suppressed_users
from suppressed
cross join total_published
where total_published.published_totals > 0
    and (suppressed.suppressed_values = 1 or suppressed.suppressed_users < {{ min_users }})
