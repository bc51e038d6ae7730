-- One row per target x geo x month: the current (latest delivered) value
-- beside the first-reported one. A later file for a period revises only the
-- keys it carries (FEEDS.md section 2).
--
-- geo_level follows the contract's codes (section 3.4): township for a 9-digit
-- code, city for 330100, district for any other 6-digit code; district_code is
-- the district of a district or township row (the first 6 digits).
--
-- Incremental by month (ten years of township data are millions of rows): a
-- build reprocesses only the months that have a file version (load_id) newer
-- than the newest one this table holds, each month whole, over every version
-- of its keys, so a revision of any past month is reflected and the first
-- reported value stays the first. Loads of one feed commit in load_id order
-- (one task per feed, files in delivery order), so the newest load_id held is
-- a watermark no later load can fall behind. Every accepted row of a file has
-- the file's period (validity quarantines any other), so the months' rows are
-- read from the partitions of raw.plan_indicators of those months' files only.
-- A full refresh (`dbt build --full-refresh`) rebuilds everything, e.g. after
-- a partition of raw.plan_indicators was dropped by hand.
--
-- Built with JIT off and vacuumed and analysed after each build (fresh
-- statistics for the tests and the next build); the unique index enforces
-- the grain its uniqueness test checks.

-- depends_on: {{ ref('stg_ops__file_loads') }}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['month', 'target_id', 'geo_code'], 'unique': true},
            {'columns': ['load_id']},
            {'columns': ['built_at']},
        ],
        pre_hook="set local jit = off",
        post_hook={'sql': 'vacuum analyze {{ this }}', 'transaction': false},
    )
}}

with

-- Not materialised: the incremental filters below reach raw.plan_indicators.
indicator_values as not materialized (

    select * from {{ ref('stg_plan__indicator_values') }}

),

{% if is_incremental() %}

    file_loads as (

        select * from {{ ref('stg_ops__file_loads') }}
        where feed = 'plan_indicators' and load_status = 'loaded' and rows_loaded > 0

    ),

    reprocessed_months as (

        select distinct file_loads.file_month as month
        from file_loads
        where file_loads.load_id > (select coalesce(max(built.load_id), 0) from {{ this }} as built)

    ),

    -- Every version of those months: an array, so that PostgreSQL prunes the
    -- other partitions when the query starts.
    reprocessed_loads as (

        select array_agg(file_loads.load_id) as load_ids
        from file_loads
        where file_loads.file_month in (select reprocessed_months.month from reprocessed_months)

    ),

{% endif %}

ranked as (

    -- One sort: newest version first; the last row of the key is its first version.
    select
        indicator_values.*,
        row_number() over newest_first_order as newest_first,
        count(*) over all_versions as version_count,
        last_value(indicator_values.value) over all_versions as first_reported_value,
        last_value(indicator_values.load_id) over all_versions as first_load_id

    from indicator_values
    {% if is_incremental() %}
        where
            indicator_values.load_id
            = any(cast((select reprocessed_loads.load_ids from reprocessed_loads) as bigint[]))
    {% endif %}
    window
        newest_first_order as (
            partition by indicator_values.month, indicator_values.target_id, indicator_values.geo_code
            order by indicator_values.load_id desc
        ),
        all_versions as (
            newest_first_order rows between unbounded preceding and unbounded following
        )

),

final as (

    select
        month,
        target_id,
        geo_code,
        case
            when length(geo_code) = 9 then 'township'
            when geo_code = '330100' then 'city'
            else 'district'
        end as geo_level,
        case
            when geo_code <> '330100' then left(geo_code, 6)
        end as district_code,
        value,
        reported_by,
        first_reported_value,
        version_count - 1 as revision_count,
        load_id,
        first_load_id,
        {{ build_timestamp() }} as built_at

    from ranked
    where newest_first = 1

)

select * from final
