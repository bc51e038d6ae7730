-- One row per area x product x month: the current (latest delivered) figures
-- beside the first-reported ones. A later file for a period revises only the
-- keys it carries (FEEDS.md section 2).

with

supply as (

    select * from {{ ref('stg_agriculture__vegetable_supply') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by month, area, product order by load_id desc
        ) as newest_first,
        row_number() over (
            partition by month, area, product order by load_id asc
        ) as oldest_first,
        count(*) over (partition by month, area, product) as version_count

    from supply

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
        current_versions.area,
        current_versions.product,
        current_versions.local_output_tonnes,
        current_versions.consumption_tonnes,
        first_versions.local_output_tonnes as first_reported_local_output_tonnes,
        first_versions.consumption_tonnes as first_reported_consumption_tonnes,
        current_versions.version_count - 1 as revision_count,
        current_versions.load_id,
        first_versions.load_id as first_load_id

    from current_versions
    inner join first_versions
        on
            current_versions.month = first_versions.month
            and current_versions.area = first_versions.area
            and current_versions.product = first_versions.product

)

select * from final
