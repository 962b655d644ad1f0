{#-
    Every emitted tag value is one the catalog allows: the tag is in the catalog and not retired;
    category, text and boolean values are listed in dim_tag_value (listed values and the text
    tags' domains); integer and number values are numbers within the tag's range, integers
    whole. Fails with one row per offending tag and value.
-#}
{{ config(meta={'dagster': {'ref': {'name': 'user_tags'}}}) }}

with emitted as (
    select
        tag_code,
        tag_value,
        {{ text_to_double('tag_value') }} as numeric_value,
        count(*) as users
    from {{ ref('user_tags') }}
    group by tag_code, tag_value
),

checked as (
    select
        emitted.tag_code,
        emitted.tag_value,
        emitted.users,
        case
            when catalog.tag_code is null then 'tag not in the catalog'
            when catalog.status = 'retired' then 'retired tag emitted'
            when catalog.value_type in ('integer', 'number') and emitted.numeric_value is null then 'not a number'
            when catalog.value_type = 'integer' and emitted.numeric_value <> floor(emitted.numeric_value)
                then 'not a whole number'
            when catalog.value_type in ('integer', 'number')
                and (emitted.numeric_value < catalog.range_min or emitted.numeric_value > catalog.range_max)
                then 'out of range'
            when catalog.value_type not in ('integer', 'number') and allowed.tag_value is null then 'value not allowed'
        end as problem
    from emitted
    left join {{ ref('dim_tag') }} as catalog on emitted.tag_code = catalog.tag_code
    left join {{ ref('dim_tag_value') }} as allowed
        on emitted.tag_code = allowed.tag_code
        and emitted.tag_value = allowed.tag_value
)

select * from checked
where problem is not null
