-- Districts, counties and county-level cities with their history (FEEDS.md
-- section 1): a code may have several rows, one per border version. Facts
-- join on code plus the month, never on code alone.

with

districts as (

    select * from {{ ref('districts') }}

),

final as (

    select
        district_code || '@' || cast(valid_from as text) as district_key,
        district_code,
        name_zh,
        name_en,
        district_type,
        is_main_urban_area,
        valid_from,
        valid_to,
        valid_to = date '9999-12-31' as is_current,
        change_note

    from districts

)

select * from final
