with

source as (

    select * from {{ source('health', 'vaccination_coverage') }}

),

renamed as (

    select
        load_id,
        {{ month_of('period') }} as month,
        district_code,
        vaccine,
        eligible_children,
        vaccinated_children

    from source

)

select * from renamed
