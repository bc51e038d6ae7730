-- Social security enrolment at the feed's own grain: district x scheme x month,
-- current figures beside the first-reported ones.

with

enrollments as (

    select * from {{ ref('int_social_security_enrollments_versioned') }}

),

districts as (

    select * from {{ ref('dim_district') }}

),

final as (

    select
        {{ surrogate_key(['enrollments.month', 'enrollments.district_code', 'enrollments.scheme']) }}
            as enrollment_key,
        enrollments.month,
        enrollments.district_code,
        districts.district_key,
        enrollments.scheme,
        enrollments.eligible_persons,
        enrollments.insured_persons,
        cast(enrollments.insured_persons as numeric)
        / enrollments.eligible_persons as enrollment_rate,
        enrollments.first_reported_eligible_persons,
        enrollments.first_reported_insured_persons,
        cast(enrollments.first_reported_insured_persons as numeric)
        / enrollments.first_reported_eligible_persons as first_reported_enrollment_rate,
        enrollments.revision_count,
        enrollments.load_id,
        enrollments.first_load_id

    from enrollments
    left join districts
        on
            enrollments.district_code = districts.district_code
            and (enrollments.month + interval '1 month' - interval '1 day')
            between districts.valid_from and districts.valid_to

)

select * from final
