-- Vegetable-basket supply at the feed's own grain: area x product x month.
-- The monthly ratio is output / consumption of the month; the year-to-date
-- ratio, which the self-sufficiency targets are judged on, is the sum of
-- output over the sum of consumption from January through the month
-- (FEEDS.md section 3.3). target_id names the target the series measures, if
-- any (seed self_sufficiency_targets).

with

supply as (

    select * from {{ ref('int_vegetable_supply_accumulated') }}

),

supply_targets as (

    select * from {{ ref('self_sufficiency_targets') }}

),

final as (

    select
        {{ surrogate_key(['supply.month', 'supply.area', 'supply.product']) }} as supply_key,
        supply.month,
        supply.area,
        supply.product,
        supply_targets.target_id,
        supply.local_output_tonnes,
        supply.consumption_tonnes,
        supply.self_sufficiency_ratio,
        supply.ytd_local_output_tonnes,
        supply.ytd_consumption_tonnes,
        supply.ytd_self_sufficiency_ratio,
        supply.ytd_months_reported,
        supply.first_reported_local_output_tonnes,
        supply.first_reported_consumption_tonnes,
        supply.first_reported_self_sufficiency_ratio,
        supply.first_reported_ytd_self_sufficiency_ratio,
        supply.revision_count,
        supply.ytd_revision_count,
        supply.load_id,
        supply.first_load_id

    from supply
    left join supply_targets
        on
            supply.area = supply_targets.area
            and supply.product = supply_targets.product

)

select * from final
