with

source as (

    select * from {{ source('plan', 'plan_indicators') }}

),

renamed as (

    select
        load_id,
        {{ month_of('period') }} as month,
        target_id,
        geo_code,
        value,
        reported_by

    from source

)

select * from renamed
