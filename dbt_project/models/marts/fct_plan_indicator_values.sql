-- Plan indicator values at the feed's own grain: target x geo x month, as
-- reported (roll-ups of townships to districts and districts to the city are
-- in fct_target_attainment, not here). district_code is the district of a
-- district or township row, district_key its version valid at the month's end.
--
-- Incremental by month, like int_plan_indicator_values_versioned: a build
-- rewrites the months whose current values come from a file version newer
-- than the newest this table holds. Indexed for the dashboard's questions (a
-- target over a span of months; one month).
--
-- Built with JIT off and vacuumed and analysed after each build (fresh
-- statistics for the tests and the next build); the unique index enforces
-- the grain its uniqueness test checks.

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['month', 'target_id', 'geo_code'], 'unique': true},
            {'columns': ['indicator_value_key'], 'unique': true},
            {'columns': ['target_id', 'month']},
            {'columns': ['load_id']},
            {'columns': ['built_at']},
        ],
        pre_hook="set local jit = off",
        post_hook={'sql': 'vacuum analyze {{ this }}', 'transaction': false},
    )
}}

with

-- Not materialised: an incremental build reads only its months (index on month).
indicator_values as not materialized (

    select * from {{ ref('int_plan_indicator_values_versioned') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

{% if is_incremental() %}

    reprocessed_months as (

        select distinct indicator_values.month
        from indicator_values
        where indicator_values.load_id > (select coalesce(max(built.load_id), 0) from {{ this }} as built)

    ),

{% endif %}

final as (

    select
        {{ surrogate_key(['indicator_values.month', 'indicator_values.target_id', 'indicator_values.geo_code']) }}
            as indicator_value_key,
        indicator_values.target_id,
        indicator_values.geo_code,
        indicator_values.geo_level,
        indicator_values.district_code,
        districts.district_key,
        indicator_values.month,
        indicator_values.value,
        indicator_values.first_reported_value,
        indicator_values.revision_count,
        indicator_values.reported_by,
        indicator_values.load_id,
        indicator_values.first_load_id,
        {{ build_timestamp() }} as built_at

    from indicator_values
    left join districts
        on
            indicator_values.district_code = districts.district_code
            and (indicator_values.month + interval '1 month' - interval '1 day')
            between districts.valid_from and districts.valid_to
    {% if is_incremental() %}
        where indicator_values.month = any(array(select reprocessed_months.month from reprocessed_months))
    {% endif %}

)

select * from final
