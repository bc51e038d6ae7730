-- Equalisation, what the plan is for: how far apart the districts are on
-- every target measured per district. One row per target x month (x vaccine)
-- over the district rows of int_target_actuals_unioned (reported, aggregated
-- or rolled up from townships), whatever the target's scope.
--
-- * max_min_ratio = max / min (null when min is 0); coefficient_of_variation
--   = population standard deviation / mean (null when the mean is 0); both
--   rounded to 6 decimals. mean_value is the unweighted mean of the districts.
-- * weighted_value = sum(numerator) / sum(denominator) when every district
--   row has a denominator (rates such as enrolment or vaccination), else null.
-- * A district is below target when it misses the target by the catalogue's
--   comparator (actual < target for >=, actual > target for <=, actual <>
--   target for ==). below_target_districts lists their codes, sorted and
--   comma-separated (null when none misses).
-- * lowest_district_code has the lowest value (ties: the lowest code).

with

actuals as (

    select * from {{ ref('int_target_actuals_unioned') }}

),

targets as (

    select * from {{ ref('dim_target') }}

),

district_values as (

    select
        actuals.target_id,
        actuals.vaccine,
        actuals.month,
        actuals.geo_code as district_code,
        actuals.actual_value,
        actuals.numerator,
        actuals.denominator,
        targets.comparator,
        targets.target_value,
        case targets.comparator
            when '>=' then actuals.actual_value < targets.target_value
            when '<=' then actuals.actual_value > targets.target_value
            else actuals.actual_value <> targets.target_value
        end as is_below_target,
        row_number() over (
            partition by actuals.target_id, actuals.vaccine, actuals.month
            order by actuals.actual_value asc, actuals.geo_code asc
        ) as lowest_first

    from actuals
    inner join targets on actuals.target_id = targets.target_id
    where
        actuals.geo_level = 'district'
        and actuals.actual_value is not null

),

spread as (

    select
        target_id,
        vaccine,
        month,
        comparator,
        target_value,
        count(*) as districts_reporting,
        min(actual_value) as min_value,
        max(actual_value) as max_value,
        avg(actual_value) as mean_value,
        stddev_pop(actual_value) as stddev_value,
        count(denominator) as districts_with_denominator,
        sum(numerator) as numerator_sum,
        sum(denominator) as denominator_sum,
        count(*) filter (where is_below_target) as districts_below_target,
        string_agg(district_code, ',' order by district_code) filter (
            where is_below_target
        ) as below_target_districts,
        min(district_code) filter (where lowest_first = 1) as lowest_district_code

    from district_values
    group by target_id, vaccine, month, comparator, target_value

),

final as (

    select
        {{ surrogate_key(['target_id', 'month', 'vaccine']) }} as equalisation_key,
        target_id,
        vaccine,
        month,
        comparator,
        target_value,
        districts_reporting,
        min_value,
        max_value,
        case when min_value <> 0 then round(max_value / min_value, 6) end as max_min_ratio,
        mean_value,
        case when mean_value <> 0 then round(stddev_value / mean_value, 6) end as coefficient_of_variation,
        case
            when districts_with_denominator = districts_reporting and denominator_sum > 0
                then numerator_sum / denominator_sum
        end as weighted_value,
        districts_below_target,
        below_target_districts,
        lowest_district_code

    from spread

)

select * from final
