-- NIP vaccination rates per district x vaccine, and for the whole city per
-- vaccine. The city rate is sum(vaccinated) / sum(eligible) over the
-- districts, never a mean of district rates. The target is each district and
-- each vaccine (FEEDS.md section 4), so the city rows are shown, not judged.
-- health_nip_vaccination_rate is one of the ids FEEDS.md section 4 fixes.

with

coverage as (

    select * from {{ ref('int_vaccination_coverage_versioned') }}

),

district_rates as (

    select
        'health_nip_vaccination_rate' as target_id,
        district_code as geo_code,
        'district' as geo_level,
        vaccine,
        month,
        cast(vaccinated_children as numeric) as numerator,
        cast(eligible_children as numeric) as denominator,
        cast(first_reported_vaccinated_children as numeric) as first_reported_numerator,
        cast(first_reported_eligible_children as numeric) as first_reported_denominator,
        revision_count,
        1 as geos_reporting,
        load_id as latest_load_id

    from coverage

),

city_rates as (

    select
        target_id,
        '330100' as geo_code,
        'city' as geo_level,
        vaccine,
        month,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(first_reported_numerator) as first_reported_numerator,
        sum(first_reported_denominator) as first_reported_denominator,
        sum(revision_count) as revision_count,
        count(*) as geos_reporting,
        max(latest_load_id) as latest_load_id

    from district_rates
    group by target_id, vaccine, month

),

unioned as (

    select * from district_rates
    union all
    select * from city_rates

),

final as (

    select
        target_id,
        geo_code,
        geo_level,
        vaccine,
        month,
        numerator / denominator as actual_value,
        numerator,
        denominator,
        first_reported_numerator / first_reported_denominator as first_reported_value,
        revision_count,
        geos_reporting,
        latest_load_id

    from unioned

)

select * from final
