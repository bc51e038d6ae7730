-- The bureaus (责任单位) that own targets and receive their breach alerts.

with

bureaus as (

    select * from {{ ref('bureaus') }}

),

final as (

    select
        bureau_id,
        name_zh,
        name_en,
        domain

    from bureaus

)

select * from final
