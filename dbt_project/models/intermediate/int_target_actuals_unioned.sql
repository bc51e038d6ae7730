-- Every measured value of every catalogue target, from every feed, at every
-- geography the feed supports: one row per target x geo x month (x vaccine).

with

social_security as (

    select * from {{ ref('int_social_security_rates_aggregated') }}

),

unioned as (

    select
        target_id,
        geo_code,
        geo_level,
        vaccine,
        month,
        actual_value,
        numerator,
        denominator,
        first_reported_value,
        revision_count,
        geos_reporting
    from social_security

)

select * from unioned
