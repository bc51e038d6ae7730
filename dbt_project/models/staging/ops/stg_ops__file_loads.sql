with

source as (

    select * from {{ source('ops', 'file_loads') }}

),

renamed as (

    select
        load_id,
        feed,
        file_name,
        sha256,
        status as load_status,
        {{ month_of('file_period') }} as file_month,
        rows_delivered,
        rows_loaded,
        rows_quarantined,
        received_at

    from source

)

select * from renamed
