-- One row per target x geo x month: the current (latest delivered) value
-- beside the first-reported one. A later file for a period revises only the
-- keys it carries (FEEDS.md section 2).
--
-- geo_level follows the contract's codes (section 3.4): township for a 9-digit
-- code, city for 330100, district for any other 6-digit code; district_code is
-- the district of a district or township row (the first 6 digits).

with

indicator_values as (

    select * from {{ ref('stg_plan__indicator_values') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by month, target_id, geo_code order by load_id desc
        ) as newest_first,
        row_number() over (
            partition by month, target_id, geo_code order by load_id asc
        ) as oldest_first,
        count(*) over (partition by month, target_id, geo_code) as version_count

    from indicator_values

),

current_versions as (

    select * from ranked
    where newest_first = 1

),

first_versions as (

    select * from ranked
    where oldest_first = 1

),

final as (

    select
        current_versions.month,
        current_versions.target_id,
        current_versions.geo_code,
        case
            when length(current_versions.geo_code) = 9 then 'township'
            when current_versions.geo_code = '330100' then 'city'
            else 'district'
        end as geo_level,
        case
            when current_versions.geo_code <> '330100' then left(current_versions.geo_code, 6)
        end as district_code,
        current_versions.value,
        current_versions.reported_by,
        first_versions.value as first_reported_value,
        current_versions.version_count - 1 as revision_count,
        current_versions.load_id,
        first_versions.load_id as first_load_id

    from current_versions
    inner join first_versions
        on
            current_versions.month = first_versions.month
            and current_versions.target_id = first_versions.target_id
            and current_versions.geo_code = first_versions.geo_code

)

select * from final
