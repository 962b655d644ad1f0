{#-
    No suppressed cell of segment_summary can be recovered by subtraction from its group's total
    (docs/marts.md, "Privacy"). The values of a single-valued tag plus its remainder (the users the
    tag is not set for) add up to the `all` row. While that row is published, the hidden members of
    each group must be none, or at least two holding at least k users together (var
    segment_min_users). The remainder is a hidden member when rows hold exactly its users and all
    of them are suppressed; otherwise it is known (a row shows it, or no row holds it: taken as
    known, since who is without a tag is often plain from elsewhere). Fails with the tags breaking the rule,
    their hidden members and the users they hold (counted in user_tags: the mart shows none).
    tests/test_suppression.py attacks the published rows with exact linear algebra besides.
-#}
{#- A warning, not a gate: one shape is beyond any suppression inside this mart — a tag with a
    single small value whose remainder no segment shows (taken as known, so the value is all minus
    it, and no other segment of the group is left to hide). It is reported — run summary,
    `huaxiang quality`, manifest — rather than stopping the whole publish. -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'segment_summary'}}}) }}

{%- set min_users = int_var('segment_min_users', 1) %}

with summary as (
    select tag_code, tag_value, is_suppressed from {{ ref('segment_summary') }}
),

-- which users each published row holds: its size and the sum of hash(user_id)
cells as (
    select
        user_tags.tag_code,
        user_tags.tag_value,
        count(*) as users,
        sum(cast(hash(user_tags.user_id) as decimal(38, 0))) as user_id_hash
    from {{ ref('user_tags') }} as user_tags
    group by user_tags.tag_code, user_tags.tag_value
),

everyone as (
    select count(*) as users, sum(cast(hash(user_id) as decimal(38, 0))) as user_id_hash
    from {{ ref('user_profile') }}
),

grouped_tags as (
    select tag_code from {{ ref('dim_tag') }}
    where value_type <> 'number' and not is_multi_valued
),

published_cells as (
    select cells.*, summary.is_suppressed
    from summary
    inner join cells on summary.tag_code = cells.tag_code and summary.tag_value = cells.tag_value
),

remainders as (
    select
        cells.tag_code,
        max(everyone.users) - sum(cells.users) as users,
        max(everyone.user_id_hash) - sum(cells.user_id_hash) as user_id_hash
    from cells
    inner join grouped_tags on cells.tag_code = grouped_tags.tag_code
    cross join everyone
    group by cells.tag_code
),

remainder_status as (
    select
        remainders.tag_code,
        remainders.users,
        count(shown.users) > 0 and bool_and(shown.is_suppressed) as is_hidden
    from remainders
    left join published_cells as shown
        on shown.users = remainders.users and shown.user_id_hash = remainders.user_id_hash
    where remainders.users > 0
    group by remainders.tag_code, remainders.users
),

hidden_values as (
    select
        published_cells.tag_code,
        count(case when published_cells.is_suppressed then 1 end) as hidden_values,
        coalesce(sum(case when published_cells.is_suppressed then published_cells.users end), 0) as hidden_users
    from published_cells
    inner join grouped_tags on published_cells.tag_code = grouped_tags.tag_code
    group by published_cells.tag_code
),

groups as (
    select
        hidden_values.tag_code,
        hidden_values.hidden_values,
        hidden_values.hidden_users,
        coalesce(remainder_status.is_hidden, false) as remainder_hidden,
        coalesce(remainder_status.users, 0) as remainder_users
    from hidden_values
    left join remainder_status on hidden_values.tag_code = remainder_status.tag_code
),

members as (
    select
        tag_code,
        hidden_values,
        remainder_hidden,
        hidden_values + case when remainder_hidden then 1 else 0 end as hidden_members,
        hidden_users + case when remainder_hidden then remainder_users else 0 end as hidden_member_users
    from groups
)

select members.tag_code, members.hidden_values, members.remainder_hidden, members.hidden_member_users
from members
cross join (select count(*) as published_totals from summary where tag_code = 'all' and not is_suppressed) as totals
where totals.published_totals > 0
    and members.hidden_members > 0
    and not (members.hidden_members >= 2 and members.hidden_member_users >= {{ min_users }})
