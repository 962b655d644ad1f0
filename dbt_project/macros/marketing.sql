{#-
    Shared pieces of the marketing marts (segment_summary, audience_members, campaign_performance,
    cohort_retention). Statistics live in marketing_stats.sql.
-#}


{#- Days after a send in which a paid order counts as that send's conversion (var attribution_window_days). -#}
{% macro attribution_window_days() -%}
    {{ return(int_var('attribution_window_days', 1)) }}
{%- endmacro %}


{#-
    Purchase stage of a user on the day of a send, from what was known before that day (so it is a
    pre-treatment segment, safe to compare arms within): first match wins.
      recent_buyer   a paid order in the `days` days before the send day
      new_user       registered in the `days` days before the send day
      lapsed_buyer   a paid order before, but not in those days
      never_bought   none of the above
-#}
{% macro marketing_stage_at_send(last_order_date, registered_date, send_date, days=30) -%}
    case
        when {{ last_order_date }} >= {{ dbt.dateadd('day', -days, send_date) }} then 'recent_buyer'
        when {{ registered_date }} >= {{ dbt.dateadd('day', -days, send_date) }} then 'new_user'
        when {{ last_order_date }} is not null then 'lapsed_buyer'
        else 'never_bought'
    end
{%- endmacro %}


{#- Cohort grains of cohort_retention (var cohort_grains): a list from week, month, quarter. -#}
{% macro marketing_cohort_grains() -%}
    {%- set grains = var('cohort_grains') -%}
    {%- if grains is string or grains is not iterable or grains | length == 0
        or grains | reject('in', ['week', 'month', 'quarter']) | list | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "var cohort_grains must be a non-empty list of week, month, quarter; got '" ~ grains ~ "'") }}
    {%- endif -%}
    {{ return(grains | list) }}
{%- endmacro %}


{#-
    Local hour (0-23) to send to a user whose most active hour slot is `slot_column`: inside the
    slot, but never in the quiet hours 22:00-08:00 (night owls get the last hour before them);
    an unknown slot gets the evening hour.
-#}
{% macro marketing_send_hour(slot_column) -%}
    {%- set send_hours = {'night': 21, 'morning': 10, 'afternoon': 14, 'evening': 20, 'late_night': 21} -%}
    {%- if send_hours.keys() | sort != hour_slots() | map(attribute='name') | sort -%}
        {{ exceptions.raise_compiler_error("marketing_send_hour needs a send hour for every hour slot") }}
    {%- endif -%}
    case {{ slot_column }}
    {%- for slot in hour_slots() %}
        when '{{ slot.name }}' then {{ send_hours[slot.name] }}
    {%- endfor %}
        else 20
    end
{%- endmacro %}
