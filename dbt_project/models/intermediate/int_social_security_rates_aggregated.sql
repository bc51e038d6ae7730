-- Enrolment rates per district and for the whole city, for the schemes the
-- catalogue has a target for. The city rate is sum(insured) / sum(eligible)
-- over the districts, never a mean of district rates (FEEDS.md section 3.1).

with

enrollments as (

    select * from {{ ref('int_social_security_enrollments_versioned') }}

),

schemes as (

    select * from {{ ref('social_security_schemes') }}

),

targeted as (

    select
        enrollments.*,
        schemes.target_id

    from enrollments
    inner join schemes on enrollments.scheme = schemes.scheme
    where schemes.target_id is not null

),

district_rates as (

    select
        target_id,
        district_code as geo_code,
        'district' as geo_level,
        cast(null as text) as vaccine,
        month,
        cast(insured_persons as numeric) as numerator,
        cast(eligible_persons as numeric) as denominator,
        cast(first_reported_insured_persons as numeric) as first_reported_numerator,
        cast(first_reported_eligible_persons as numeric) as first_reported_denominator,
        revision_count,
        1 as geos_reporting,
        load_id as latest_load_id

    from targeted

),

city_rates as (

    select
        target_id,
        '330100' as geo_code,
        'city' as geo_level,
        cast(null as text) as vaccine,
        month,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(first_reported_numerator) as first_reported_numerator,
        sum(first_reported_denominator) as first_reported_denominator,
        sum(revision_count) as revision_count,
        count(*) as geos_reporting,
        max(latest_load_id) as latest_load_id

    from district_rates
    group by target_id, month

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
