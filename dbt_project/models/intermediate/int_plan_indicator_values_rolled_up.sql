-- Plan indicator values at every geography, as reported plus the roll-ups
-- the contract implies (FEEDS.md section 3.4):
--
-- * geo_level (from int_plan_indicator_values_versioned): township, district
--   or city.
-- * Cumulative targets (catalogue measure_kind = cumulative: counts and
--   amounts) add up: a district that did not report itself gets the sum of its
--   townships that reported; the city, when it did not report itself, gets the
--   sum of its districts (reported or rolled up from townships).
-- * Level targets (rates, levels) do not add up: there is no roll-up, and
--   their township rows are shown only.
-- * A reported row always wins over a roll-up for the same target x geo x
--   month. geos_reporting is 1 for a reported row and the number of townships
--   (or districts) summed for a roll-up; first_reported_value and
--   revision_count of a roll-up are the sums over its parts.

with

indicator_values as (

    select * from {{ ref('int_plan_indicator_values_versioned') }}

),

catalogue as (

    select * from {{ ref('target_catalogue') }}

),

reported as (

    select
        target_id,
        geo_code,
        geo_level,
        district_code,
        month,
        value as actual_value,
        first_reported_value,
        revision_count,
        1 as geos_reporting,
        false as is_rolled_up

    from indicator_values

),

cumulative_reported as (

    select reported.*
    from reported
    inner join catalogue on reported.target_id = catalogue.target_id
    where catalogue.measure_kind = 'cumulative'

),

township_sums as (

    select
        target_id,
        district_code as geo_code,
        'district' as geo_level,
        district_code,
        month,
        sum(actual_value) as actual_value,
        sum(first_reported_value) as first_reported_value,
        sum(revision_count) as revision_count,
        count(*) as geos_reporting,
        true as is_rolled_up

    from cumulative_reported
    where geo_level = 'township'
    group by target_id, district_code, month

),

rolled_up_districts as (

    select township_sums.*
    from township_sums
    where not exists (
        select 1
        from reported
        where
            reported.target_id = township_sums.target_id
            and reported.geo_code = township_sums.geo_code
            and reported.month = township_sums.month
    )

),

cumulative_districts as (

    select * from cumulative_reported
    where geo_level = 'district'
    union all
    select * from rolled_up_districts

),

district_sums as (

    select
        target_id,
        '330100' as geo_code,
        'city' as geo_level,
        cast(null as text) as district_code,
        month,
        sum(actual_value) as actual_value,
        sum(first_reported_value) as first_reported_value,
        sum(revision_count) as revision_count,
        count(*) as geos_reporting,
        true as is_rolled_up

    from cumulative_districts
    group by target_id, month

),

rolled_up_city as (

    select district_sums.*
    from district_sums
    where not exists (
        select 1
        from reported
        where
            reported.target_id = district_sums.target_id
            and reported.geo_code = district_sums.geo_code
            and reported.month = district_sums.month
    )

),

unioned as (

    select * from reported
    union all
    select * from rolled_up_districts
    union all
    select * from rolled_up_city

),

final as (

    select
        target_id,
        geo_code,
        geo_level,
        district_code,
        cast(null as text) as vaccine,
        month,
        actual_value,
        cast(null as numeric) as numerator,
        cast(null as numeric) as denominator,
        first_reported_value,
        revision_count,
        geos_reporting,
        is_rolled_up

    from unioned

)

select * from final
