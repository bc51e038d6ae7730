-- Every measured value of every catalogue target, from every feed, at every
-- geography the feed supports: one row per target x geo x month (x vaccine).
-- latest_load_id is the newest file version behind each figure, the watermark
-- of the incremental marts. The plan indicators have no vaccine: a constant
-- null lets PostgreSQL skip their millions of rows when vaccines are asked for.

with

social_security as (

    select * from {{ ref('int_social_security_rates_aggregated') }}

),

vaccination as (

    select * from {{ ref('int_vaccination_rates_aggregated') }}

),

self_sufficiency as (

    select * from {{ ref('int_self_sufficiency_rates_mapped') }}

),

plan_indicators as (

    select * from {{ ref('int_plan_indicator_values_rolled_up') }}

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
        geos_reporting,
        latest_load_id
    from social_security

    union all

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
        geos_reporting,
        latest_load_id
    from vaccination

    union all

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
        geos_reporting,
        latest_load_id
    from self_sufficiency

    union all

    select
        target_id,
        geo_code,
        geo_level,
        cast(null as text) as vaccine,
        month,
        actual_value,
        numerator,
        denominator,
        first_reported_value,
        revision_count,
        geos_reporting,
        latest_load_id
    from plan_indicators

)

select * from unioned
