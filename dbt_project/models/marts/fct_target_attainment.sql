-- Attainment of every catalogue target that has data: one row per target x geo
-- x month (x vaccine) that has data or should have (FEEDS.md section 5).
--
-- Rows at the target's own scope (the city for a city target, each district for
-- an each-district target, the main urban area) are judged and alert
-- (is_scope_row). Finer rows that a feed also provides (district figures of a
-- city target) are shown for equalisation with the same status rule, but do
-- not alert.
--
-- The generic plan_indicators feed knows only 330100, district and township
-- codes (FEEDS.md section 3.4): it has no code for the main urban area, the
-- urban districts, the municipal level or "each village". Its targets with
-- scope main_urban_area, urban_districts, municipal_level or each_village are
-- therefore reported, and judged, at 330100 (geo_level city). The
-- vegetable_supply feed does have the main urban area: its main-urban targets
-- are judged at geo_code main_urban.
--
-- An each-district target with vaccines (health_nip_vaccination_rate) is
-- expected for every district valid at the month's end x every vaccine the
-- feed has delivered for that target (in any month): a missing one is no_data.
--
-- Pace of accumulating targets is linear over the plan year up to the
-- deadline month: expected_to_date = target x months elapsed / months to the
-- deadline; projected_year_end = actual x months to the deadline / months
-- elapsed. pace_status: achieved when the target is reached; on_track when
-- actual >= expected_to_date; at_risk when actual >= pace_at_risk_share
-- (default 0.9) x expected_to_date; off_track otherwise, and from the deadline
-- month on whenever the target is not reached. Both figures are rounded to
-- two decimals.

with

targets as (

    select * from {{ ref('dim_target') }}

),

actuals as (

    select * from {{ ref('int_target_actuals_unioned') }}

),

months as (

    select * from {{ ref('dim_month') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

feed_windows as (

    -- Months a feed's figures should exist for: from January of the first
    -- year the feed delivered up to its latest delivered month.
    select
        targets.feed,
        cast(date_trunc('year', min(actuals.month)) as date) as window_start,
        max(actuals.month) as window_end

    from actuals
    inner join targets on actuals.target_id = targets.target_id
    group by targets.feed

),

expected_months as (

    select
        targets.target_id,
        targets.scope,
        targets.feed,
        months.month,
        months.month_end

    from targets
    inner join feed_windows on targets.feed = feed_windows.feed
    inner join months
        on months.month between feed_windows.window_start and feed_windows.window_end
    where
        targets.reporting_frequency = 'monthly'
        or (targets.reporting_frequency = 'quarterly' and months.is_quarter_end)
        or (targets.reporting_frequency = 'semiannual' and months.is_half_year_end)
        or (targets.reporting_frequency = 'annual' and months.is_year_end)

),

target_vaccines as (

    -- The vaccines the feed has delivered for the target, in any month.
    select distinct
        target_id,
        vaccine

    from actuals
    where vaccine is not null

),

scope_geos as (

    select
        expected_months.target_id,
        expected_months.month,
        '330100' as geo_code,
        'city' as geo_level
    from expected_months
    where
        expected_months.scope = 'city'
        or (
            expected_months.feed = 'plan_indicators'
            and expected_months.scope in (
                'main_urban_area', 'urban_districts', 'municipal_level', 'each_village'
            )
        )

    union all

    select
        expected_months.target_id,
        expected_months.month,
        'main_urban' as geo_code,
        'main_urban_area' as geo_level
    from expected_months
    where
        expected_months.scope = 'main_urban_area'
        and expected_months.feed <> 'plan_indicators'

    union all

    select
        expected_months.target_id,
        expected_months.month,
        districts.district_code as geo_code,
        'district' as geo_level
    from expected_months
    inner join districts
        on expected_months.month_end between districts.valid_from and districts.valid_to
    where expected_months.scope = 'each_district'

),

scope_grid as (

    select
        scope_geos.target_id,
        scope_geos.geo_code,
        scope_geos.geo_level,
        target_vaccines.vaccine,
        scope_geos.month

    from scope_geos
    left join target_vaccines on scope_geos.target_id = target_vaccines.target_id

),

scope_rows as (

    select
        scope_grid.target_id,
        scope_grid.geo_code,
        scope_grid.geo_level,
        scope_grid.vaccine,
        scope_grid.month,
        true as is_scope_row,
        actuals.actual_value,
        actuals.numerator,
        actuals.denominator,
        actuals.first_reported_value,
        actuals.revision_count,
        actuals.geos_reporting

    from scope_grid
    left join actuals
        on
            scope_grid.target_id = actuals.target_id
            and scope_grid.geo_code = actuals.geo_code
            and scope_grid.month = actuals.month
            and coalesce(scope_grid.vaccine, '') = coalesce(actuals.vaccine, '')

),

shown_rows as (

    select
        actuals.target_id,
        actuals.geo_code,
        actuals.geo_level,
        actuals.vaccine,
        actuals.month,
        false as is_scope_row,
        actuals.actual_value,
        actuals.numerator,
        actuals.denominator,
        actuals.first_reported_value,
        actuals.revision_count,
        actuals.geos_reporting

    from actuals
    where not exists (
        select 1
        from scope_grid
        where
            scope_grid.target_id = actuals.target_id
            and scope_grid.geo_code = actuals.geo_code
            and scope_grid.month = actuals.month
            and coalesce(scope_grid.vaccine, '') = coalesce(actuals.vaccine, '')
    )

),

all_rows as (

    select * from scope_rows
    union all
    select * from shown_rows

),

measured as (

    select
        all_rows.*,
        targets.comparator,
        targets.target_value,
        targets.measure_kind,
        targets.deadline_month,
        targets.responsible_bureau,
        case targets.comparator
            when '>=' then all_rows.actual_value >= targets.target_value
            when '<=' then all_rows.actual_value <= targets.target_value
            else all_rows.actual_value = targets.target_value
        end as is_met,
        -- Months of the plan year elapsed at this month's end, and months up
        -- to the deadline (12 for a year-end deadline).
        (extract(year from all_rows.month) - {{ var('plan_year') }}) * 12
        + extract(month from all_rows.month) as months_elapsed,
        (extract(year from targets.deadline_month) - {{ var('plan_year') }}) * 12
        + extract(month from targets.deadline_month) as months_to_deadline

    from all_rows
    inner join targets on all_rows.target_id = targets.target_id

),

judged as (

    select
        *,
        case
            when actual_value is null then 'no_data'
            when is_met then 'met'
            when measure_kind = 'cumulative' and month < deadline_month then 'in_progress'
            else 'breached'
        end as status,
        case
            when measure_kind = 'cumulative' and comparator = '>='
                then round(target_value * least(months_elapsed, months_to_deadline) / months_to_deadline, 2)
        end as expected_to_date,
        case
            when measure_kind = 'cumulative' and comparator = '>=' and months_elapsed > 0
                then round(actual_value * greatest(months_to_deadline, months_elapsed) / months_elapsed, 2)
        end as projected_year_end

    from measured

),

final as (

    select
        {{ surrogate_key(['target_id', 'geo_code', 'month', 'vaccine']) }} as attainment_key,
        target_id,
        geo_code,
        geo_level,
        vaccine,
        month,
        actual_value,
        target_value,
        comparator,
        status,
        is_scope_row,
        expected_to_date,
        projected_year_end,
        case
            when expected_to_date is null or actual_value is null then null
            when is_met then 'achieved'
            when month >= deadline_month then 'off_track'
            when actual_value >= expected_to_date then 'on_track'
            when actual_value >= {{ var('pace_at_risk_share') }} * expected_to_date then 'at_risk'
            else 'off_track'
        end as pace_status,
        actual_value - target_value as gap,
        numerator,
        denominator,
        first_reported_value,
        revision_count,
        geos_reporting,
        responsible_bureau

    from judged

)

select * from final
