with

source as (

    select * from {{ source('hrss', 'social_security_enrollment') }}

),

renamed as (

    select
        load_id,
        {{ month_of('period') }} as month,
        district_code,
        scheme,
        eligible_persons,
        insured_persons

    from source

)

select * from renamed
