-- NIP vaccination coverage at the feed's own grain: district x vaccine x
-- month, current figures beside the first-reported ones. district_key is the
-- district version valid at the month's end (codes were reused with new
-- borders, FEEDS.md section 1).

with

coverage as (

    select * from {{ ref('int_vaccination_coverage_versioned') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

final as (

    select
        {{ surrogate_key(['coverage.month', 'coverage.district_code', 'coverage.vaccine']) }}
            as coverage_key,
        coverage.month,
        coverage.district_code,
        districts.district_key,
        coverage.vaccine,
        coverage.eligible_children,
        coverage.vaccinated_children,
        cast(coverage.vaccinated_children as numeric)
        / coverage.eligible_children as vaccination_rate,
        coverage.first_reported_eligible_children,
        coverage.first_reported_vaccinated_children,
        cast(coverage.first_reported_vaccinated_children as numeric)
        / coverage.first_reported_eligible_children as first_reported_vaccination_rate,
        coverage.revision_count,
        coverage.load_id,
        coverage.first_load_id

    from coverage
    left join districts
        on
            coverage.district_code = districts.district_code
            and (coverage.month + interval '1 month' - interval '1 day')
            between districts.valid_from and districts.valid_to

)

select * from final
