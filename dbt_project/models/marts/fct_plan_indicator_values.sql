-- Plan indicator values at the feed's own grain: target x geo x month, as
-- reported (roll-ups of townships to districts and districts to the city are
-- in fct_target_attainment, not here). district_code is the district of a
-- district or township row, district_key its version valid at the month's end.

with

indicator_values as (

    select * from {{ ref('int_plan_indicator_values_versioned') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

final as (

    select
        {{ surrogate_key(['indicator_values.month', 'indicator_values.target_id', 'indicator_values.geo_code']) }}
            as indicator_value_key,
        indicator_values.target_id,
        indicator_values.geo_code,
        indicator_values.geo_level,
        indicator_values.district_code,
        districts.district_key,
        indicator_values.month,
        indicator_values.value,
        indicator_values.first_reported_value,
        indicator_values.revision_count,
        indicator_values.reported_by,
        indicator_values.load_id,
        indicator_values.first_load_id

    from indicator_values
    left join districts
        on
            indicator_values.district_code = districts.district_code
            and (indicator_values.month + interval '1 month' - interval '1 day')
            between districts.valid_from and districts.valid_to

)

select * from final
