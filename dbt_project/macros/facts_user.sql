{#- Definitions shared by fct_user_facts and its documentation (docs/tags.md explains them). -#}

{#- Weighted product interest of category rollup rows: a purchase says more than a view. -#}
{% macro category_interest(relation='') -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    ({{ p }}views + {{ p }}clicks + 2 * {{ p }}favorites + 3 * {{ p }}carts + 5 * {{ p }}purchase_lines)
{%- endmacro %}


{#-
    Components of the price sensitivity score, each a 0-1 share where higher = more price
    sensitive: coupon orders among paid orders, and how cheap (1 - mean price percentile within
    the L2 category) the products bought and viewed are. A component is shrunk towards the
    neutral 0.5 by `prior` pseudo-observations, so a user seen on two orders or a handful of views
    does not get an extreme reading. The score is the weighted mean of the components the user
    has (none: null).
-#}
{% macro price_sensitivity_components() -%}
    {{ return([
        {'hits': 'coupon_orders_90d', 'count': 'orders_90d', 'prior': 2, 'weight': 0.4, 'inverted': false},
        {'hits': 'purchased_price_percentile_sum_90d', 'count': 'purchase_lines_90d', 'prior': 2, 'weight': 0.2,
         'inverted': true},
        {'hits': 'viewed_price_percentile_sum_90d', 'count': 'product_views_90d', 'prior': 10, 'weight': 0.4,
         'inverted': true},
    ]) }}
{%- endmacro %}


{% macro price_sensitivity_score(relation='') -%}
    {%- set p = relation ~ '.' if relation else '' -%}
    {%- set components = price_sensitivity_components() -%}
    (
        (
        {%- for c in components %}
            case when {{ p }}{{ c['count'] }} > 0 then
                {{ '1 - ' if c.inverted }}({{ decimal_as_double(p ~ c.hits) }} + 0.5 * {{ c.prior }}) / ({{ p }}{{ c['count'] }} + {{ c.prior }})
            else 0 end * {{ c.weight }}{{ ' +' if not loop.last }}
        {%- endfor %}
        ) / nullif(
        {%- for c in components %}
            case when {{ p }}{{ c['count'] }} > 0 then {{ c.weight }} else 0 end{{ ' +' if not loop.last }}
        {%- endfor %}
        , 0)
    )
{%- endmacro %}


{#- Campaign channels in tie-break order for best_channel: the cheaper message first. -#}
{% macro channels_by_cost() -%}
    {{ return(['push', 'in_app', 'email', 'sms']) }}
{%- endmacro %}
