-- One row per district x vaccine x month: the current (latest delivered)
-- figures beside the first-reported ones. A later file for a period revises
-- only the keys it carries (FEEDS.md section 2).

with

coverage as (

    select * from {{ ref('stg_health__vaccination_coverage') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by month, district_code, vaccine order by load_id desc
        ) as newest_first,
        row_number() over (
            partition by month, district_code, vaccine order by load_id asc
        ) as oldest_first,
        count(*) over (partition by month, district_code, vaccine) as version_count

    from coverage

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
        current_versions.district_code,
        current_versions.vaccine,
        current_versions.eligible_children,
        current_versions.vaccinated_children,
        first_versions.eligible_children as first_reported_eligible_children,
        first_versions.vaccinated_children as first_reported_vaccinated_children,
        current_versions.version_count - 1 as revision_count,
        current_versions.load_id,
        first_versions.load_id as first_load_id

    from current_versions
    inner join first_versions
        on
            current_versions.month = first_versions.month
            and current_versions.district_code = first_versions.district_code
            and current_versions.vaccine = first_versions.vaccine

)

select * from final
