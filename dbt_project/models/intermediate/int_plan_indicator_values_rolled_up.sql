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
-- * latest_load_id is the newest file version behind the figure: the row's own
--   for a reported row, the newest of its parts for a roll-up.
--
-- Incremental by month: a build rewrites the months that have a current value
-- from a file version newer than the newest this table holds (see
-- int_plan_indicator_values_versioned).
--
-- Built with JIT off and vacuumed and analysed after each build (fresh
-- statistics for the tests and the next build); the unique index enforces
-- the grain its uniqueness test checks.

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['target_id', 'geo_code', 'month'], 'unique': true},
            {'columns': ['month']},
            {'columns': ['latest_load_id']},
            {'columns': ['built_at']},
        ],
        pre_hook="set local jit = off",
        post_hook={'sql': 'vacuum analyze {{ this }}', 'transaction': false},
    )
}}

with

-- Not materialised: an incremental build reads only its months (index on month).
indicator_values as not materialized (

    select * from {{ ref('int_plan_indicator_values_versioned') }}

),

catalogue as (

    select * from {{ ref('target_catalogue') }}

),

{% if is_incremental() %}

    reprocessed_months as (

        select distinct indicator_values.month
        from indicator_values
        where
            indicator_values.load_id
            > (select coalesce(max(built.latest_load_id), 0) from {{ this }} as built)

    ),

{% endif %}

reported as (

    select
        indicator_values.target_id,
        indicator_values.geo_code,
        indicator_values.geo_level,
        indicator_values.district_code,
        indicator_values.month,
        indicator_values.value as actual_value,
        indicator_values.first_reported_value,
        indicator_values.revision_count,
        1 as geos_reporting,
        false as is_rolled_up,
        indicator_values.load_id as latest_load_id

    from indicator_values
    {% if is_incremental() %}
        where indicator_values.month = any(array(select reprocessed_months.month from reprocessed_months))
    {% endif %}

),

-- Only a district row can stand in the way of a district roll-up, and only a
-- city row in the way of the city's: the anti-joins look at those few rows,
-- materialised once (inlined, the township rows were rescanned per roll-up).
reported_districts as materialized (

    select * from reported
    where geo_level = 'district'

),

reported_city as materialized (

    select * from reported
    where geo_level = 'city'

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
        true as is_rolled_up,
        max(latest_load_id) as latest_load_id

    from cumulative_reported
    where geo_level = 'township'
    group by target_id, district_code, month

),

rolled_up_districts as (

    select township_sums.*
    from township_sums
    where not exists (
        select 1
        from reported_districts
        where
            reported_districts.target_id = township_sums.target_id
            and reported_districts.geo_code = township_sums.geo_code
            and reported_districts.month = township_sums.month
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
        true as is_rolled_up,
        max(latest_load_id) as latest_load_id

    from cumulative_districts
    group by target_id, month

),

rolled_up_city as (

    select district_sums.*
    from district_sums
    where not exists (
        select 1
        from reported_city
        where
            reported_city.target_id = district_sums.target_id
            and reported_city.month = district_sums.month
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
        is_rolled_up,
        latest_load_id,
        {{ build_timestamp() }} as built_at

    from unioned

)

select * from final
