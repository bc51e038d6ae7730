-- Vegetable-basket supply per area x product x month with the monthly ratio
-- and the year-to-date figures. Self-sufficiency is judged year to date:
-- sum(local output) / sum(consumption) from January of the month's year through
-- the month, over the months delivered (FEEDS.md section 3.3), never a mean of
-- the monthly ratios. The first-reported year-to-date ratio applies the same
-- sums to the first-reported figures of every month to date; revision_count
-- of the year to date counts the revisions of all months in it, and
-- ytd_latest_load_id is the newest file version of any month in it.

with

supply as (

    select * from {{ ref('int_vegetable_supply_versioned') }}

),

accumulated as (

    select
        *,
        sum(local_output_tonnes) over year_to_date as ytd_local_output_tonnes,
        sum(consumption_tonnes) over year_to_date as ytd_consumption_tonnes,
        sum(first_reported_local_output_tonnes) over year_to_date
            as first_reported_ytd_local_output_tonnes,
        sum(first_reported_consumption_tonnes) over year_to_date
            as first_reported_ytd_consumption_tonnes,
        sum(revision_count) over year_to_date as ytd_revision_count,
        count(*) over year_to_date as ytd_months_reported,
        max(load_id) over year_to_date as ytd_latest_load_id

    from supply
    window year_to_date as (
        partition by area, product, date_trunc('year', month)
        order by month
        rows between unbounded preceding and current row
    )

),

final as (

    select
        month,
        area,
        product,
        local_output_tonnes,
        consumption_tonnes,
        local_output_tonnes / consumption_tonnes as self_sufficiency_ratio,
        ytd_local_output_tonnes,
        ytd_consumption_tonnes,
        ytd_local_output_tonnes / ytd_consumption_tonnes as ytd_self_sufficiency_ratio,
        first_reported_local_output_tonnes,
        first_reported_consumption_tonnes,
        first_reported_local_output_tonnes
        / first_reported_consumption_tonnes as first_reported_self_sufficiency_ratio,
        first_reported_ytd_local_output_tonnes
        / first_reported_ytd_consumption_tonnes as first_reported_ytd_self_sufficiency_ratio,
        ytd_months_reported,
        revision_count,
        ytd_revision_count,
        load_id,
        first_load_id,
        ytd_latest_load_id

    from accumulated

)

select * from final
