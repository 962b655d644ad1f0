{#-
    No published mart carries a contact plan for a user without marketing consent (false, or no
    recorded consent): no row of audience_members or mkt_audience_candidates — the marts that say
    what to send a user and on which channel — names such a user (docs/marts.md, "Consent").

    It also fails for any other model of schema marts that declares a user_id and a
    recommended_action column but is not listed below: a new contact-plan mart must be added here
    before it can be published.
-#}

{{ config(meta={'dagster': {'ref': {'name': 'audience_members'}}}) }}

{%- set checked = ['audience_members', 'mkt_audience_candidates'] %}

with contact_plans as (
    select 'audience_members' as mart, user_id from {{ ref('audience_members') }}
    union all
    select 'mkt_audience_candidates' as mart, user_id from {{ ref('mkt_audience_candidates') }}
),

without_consent as (
    select contact_plans.mart, contact_plans.user_id, 'no marketing consent' as problem
    from contact_plans
    left join {{ ref('user_profile') }} as profile on contact_plans.user_id = profile.user_id
    where not coalesce(profile.marketing_consent, false)
)

select * from without_consent
{%- if execute %}
{%- for node in graph.nodes.values() %}
{%- if node.resource_type == 'model' and node.config.schema == 'marts' and node.name not in checked
    and 'user_id' in node.columns and 'recommended_action' in node.columns %}
union all
select '{{ node.name }}' as mart, cast(null as {{ dbt.type_string() }}) as user_id, 'contact plan not checked for consent' as problem
{%- endif %}
{%- endfor %}
{%- endif %}
