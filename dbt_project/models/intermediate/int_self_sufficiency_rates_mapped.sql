-- The year-to-date self-sufficiency ratio of the four area x product series
-- that measure a catalogue target, at the geography the target is judged at.
-- Which series measures which target is lookup data (seed
-- self_sufficiency_targets), not SQL.

with

supply as (

    select * from {{ ref('int_vegetable_supply_accumulated') }}

),

supply_targets as (

    select * from {{ ref('self_sufficiency_targets') }}

),

final as (

    select
        supply_targets.target_id,
        supply_targets.geo_code,
        supply_targets.geo_level,
        cast(null as text) as vaccine,
        supply.month,
        supply.ytd_self_sufficiency_ratio as actual_value,
        supply.ytd_local_output_tonnes as numerator,
        supply.ytd_consumption_tonnes as denominator,
        supply.first_reported_ytd_self_sufficiency_ratio as first_reported_value,
        supply.ytd_revision_count as revision_count,
        1 as geos_reporting,
        supply.ytd_latest_load_id as latest_load_id

    from supply
    inner join supply_targets
        on
            supply.area = supply_targets.area
            and supply.product = supply_targets.product

)

select * from final
