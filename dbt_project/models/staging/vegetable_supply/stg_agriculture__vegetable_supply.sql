with

source as (

    select * from {{ source('agriculture', 'vegetable_supply') }}

),

renamed as (

    select
        load_id,
        {{ month_of('period') }} as month,
        area,
        product,
        local_output_tonnes,
        consumption_tonnes

    from source

)

select * from renamed
