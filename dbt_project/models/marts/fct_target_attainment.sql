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
--
-- latest_load_id is the newest file version (ops.file_loads) behind the
-- figure (null for no_data). It is also the watermark of this incremental
-- model. Loads of one feed commit in load_id order (one task per feed, files
-- in delivery order), so a build rewrites, whole, every month that
--
-- * has a figure from a file version newer than the newest its feed's rows
--   here hold (a new month, or a revision of a past one; for the year-to-date
--   self-sufficiency ratios a revised month moves the rest of its year with
--   it, through latest_load_id),
-- * should have rows for a target and has none (a feed's window grew: the
--   months it skipped become no_data), or
-- * lies in any feed's window when a target's threshold, comparator or bureau
--   in the catalogue differs from the one its rows were judged with, or a
--   vaccine appeared that a target's rows do not have yet.
--
-- Everything else stays as built. Changes to other catalogue columns (scope,
-- frequency, deadline, kind), to the districts or to the vars need
-- `dbt build --full-refresh`, which rebuilds from the intermediates (and gives
-- the same rows as the incremental builds: bench/scale.py checks it).
--
-- Indexed for the dashboard's questions (a target over a span of months; the
-- breaches of a month, answered from a covering index of the breached rows
-- alone, in the order the dashboard lists them), for the watermarks
-- (target_id, latest_load_id), and for the uniqueness tests. Built with JIT off (compiling this plan cost
-- seconds more than running it) and vacuumed and analysed after each build,
-- so that the tests and the next build plan with fresh statistics.

{#-
    A table built before latest_load_id existed (the mart used to be a plain
    table) has no watermark: that build rewrites every month and the column is
    added (on_schema_change). A `--full-refresh` also adds this model's indexes.
-#}
{% set by_watermark = is_incremental() %}
{% if by_watermark and execute and this is not string %}
    {% set held = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}  -- noqa: TMP
    {% set by_watermark = 'latest_load_id' in held %}
{% endif %}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['attainment_key'], 'unique': true},
            {'columns': ['target_id', 'geo_code', 'month', 'vaccine']},
            {'columns': ['month', 'status']},
            {'columns': ['target_id', 'month']},
            {'columns': ['target_id', 'latest_load_id']},
            {'columns': ['built_at']},
        ],
        pre_hook="set local jit = off",
        post_hook=[
            "{{ covering_index(this, 'fct_target_attainment_breaches', ['month', 'target_id', 'geo_code'],"
            " ['geo_level', 'vaccine', 'actual_value', 'target_value', 'gap', 'responsible_bureau'],"
            " where_equals={'status': 'breached'}) }}",
            {'sql': 'vacuum analyze {{ this }}', 'transaction': false},
        ],
    )
}}

with

targets as (

    select * from {{ ref('dim_target') }}

),

-- Not materialised: each use reads the view (tables underneath) with its own
-- filter, so an incremental build touches only the months it rewrites.
all_actuals as not materialized (

    select * from {{ ref('int_target_actuals_unioned') }}

),

months as (

    select * from {{ ref('dim_month') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

{% if by_watermark %}

    built_targets as (

        -- Per target, what the table holds (index probes on target_id): the
        -- newest file version, the months spanned, and the catalogue its rows
        -- were judged with.
        select
            targets.target_id,
            targets.feed,
            (
                select max(built.latest_load_id) from {{ this }} as built
                where built.target_id = targets.target_id
            ) as latest_load_id,
            (
                select min(built.month) from {{ this }} as built
                where built.target_id = targets.target_id
            ) as first_month,
            (
                select max(built.month) from {{ this }} as built
                where built.target_id = targets.target_id
            ) as last_month,
            judged.comparator is not null
            and (
                judged.target_value is distinct from targets.target_value
                or judged.comparator is distinct from targets.comparator
                or judged.responsible_bureau is distinct from targets.responsible_bureau
            ) as catalogue_changed

        from targets
        left join lateral (
            select
                built.target_value,
                built.comparator,
                built.responsible_bureau
            from {{ this }} as built
            where built.target_id = targets.target_id
            order by built.month
            limit 1
        ) as judged on true

    ),

    built_feeds as (

        -- Loads of one feed commit in load_id order (one task per feed, files
        -- in delivery order): the newest version a feed's rows hold is its
        -- watermark.
        select
            feed,
            coalesce(max(latest_load_id), 0) as latest_load_id,
            min(first_month) as first_month,
            max(last_month) as last_month,
            array_agg(target_id) as target_ids

        from built_targets
        group by feed

    ),

    new_figures as (

        -- Figures from a file version newer than their feed's watermark. Two
        -- index-friendly passes: figures newer than the oldest watermark of a
        -- feed the table has rows of (a feed that stopped delivering long ago
        -- widens this pass, never makes it wrong), and every figure of a feed
        -- it has no rows of yet.
        select
            built_feeds.feed,
            all_actuals.month

        from all_actuals
        inner join built_feeds on all_actuals.target_id = any(built_feeds.target_ids)
        where
            all_actuals.latest_load_id > built_feeds.latest_load_id
            and all_actuals.latest_load_id > (
                select min(held.latest_load_id) from built_feeds as held
                where held.latest_load_id > 0
            )

        union all

        select
            built_feeds.feed,
            all_actuals.month

        from all_actuals
        inner join built_feeds on all_actuals.target_id = any(built_feeds.target_ids)
        where
            built_feeds.latest_load_id = 0
            and all_actuals.target_id = any(array(
                select unnest(unheld.target_ids) from built_feeds as unheld
                where unheld.latest_load_id = 0
            ))

    ),

    feed_windows as (

        -- The windows the table spans, grown by the new figures (figures are
        -- never taken away: raw is append-only).
        select
            built_feeds.feed,
            cast(date_trunc('year', least(built_feeds.first_month, min(new_figures.month))) as date)
                as window_start,
            greatest(built_feeds.last_month, max(new_figures.month)) as window_end

        from built_feeds
        left join new_figures on built_feeds.feed = new_figures.feed
        group by built_feeds.feed, built_feeds.first_month, built_feeds.last_month
        having coalesce(built_feeds.first_month, min(new_figures.month)) is not null

    ),

{% else %}

    feed_windows as (

        -- Months a feed's figures should exist for: from January of the first
        -- year the feed delivered up to its latest delivered month.
        select
            targets.feed,
            cast(date_trunc('year', min(all_actuals.month)) as date) as window_start,
            max(all_actuals.month) as window_end

        from all_actuals
        inner join targets on all_actuals.target_id = targets.target_id
        group by targets.feed

    ),

{% endif %}

all_expected_months as (

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

    from all_actuals
    where vaccine is not null

),

{% if by_watermark %}

    reprocessed_months as (

        -- A figure from a file version newer than its feed's rows hold.
        select new_figures.month
        from new_figures

        union

        -- A month that should have the target's rows and has none.
        select all_expected_months.month
        from all_expected_months
        where
            not exists (
                select 1
                from {{ this }} as built
                where
                    built.target_id = all_expected_months.target_id
                    and built.month = all_expected_months.month
            )

        union

        -- Every month, when the catalogue or the vaccines changed.
        select distinct all_expected_months.month
        from all_expected_months
        where
            exists (
                select 1 from built_targets
                where built_targets.catalogue_changed
            )
            or exists (
                select 1 from target_vaccines
                where
                    not exists (
                        select 1
                        from {{ this }} as built
                        where
                            built.target_id = target_vaccines.target_id
                            and built.vaccine = target_vaccines.vaccine
                    )
            )

    ),

{% endif %}

actuals as not materialized (

    select * from all_actuals
    {% if by_watermark %}
        where month = any(array(select reprocessed_months.month from reprocessed_months))
    {% endif %}

),

expected_months as (

    select * from all_expected_months
    {% if by_watermark %}
        where month = any(array(select reprocessed_months.month from reprocessed_months))
    {% endif %}

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
        actuals.geos_reporting,
        actuals.latest_load_id

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
        actuals.geos_reporting,
        actuals.latest_load_id

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
        responsible_bureau,
        latest_load_id,
        {{ build_timestamp() }} as built_at

    from judged

)

select * from final
