-- The vaccines of the national immunisation programme (NIP) that the
-- vaccination_coverage feed reports (FEEDS.md section 3.2).

with

vaccines as (

    select * from {{ ref('vaccines') }}

),

final as (

    select
        code as vaccine,
        name_zh,
        name_en

    from vaccines

)

select * from final
