-- The plan's quantitative targets: the catalogue seed with its bureau's names.
-- Thresholds live in the catalogue and nowhere else.

with

catalogue as (

    select * from {{ ref('target_catalogue') }}

),

bureaus as (

    select * from {{ ref('bureaus') }}

),

final as (

    select
        catalogue.target_id,
        catalogue.catalogue_version,
        catalogue.section,
        catalogue.metric_zh,
        catalogue.metric_en,
        catalogue.comparator,
        catalogue.target_value,
        catalogue.unit,
        catalogue.scope,
        catalogue.measure_kind,
        catalogue.reporting_frequency,
        catalogue.feed,
        catalogue.responsible_bureau,
        bureaus.name_zh as responsible_bureau_zh,
        bureaus.name_en as responsible_bureau_en,
        catalogue.co_bureaus,
        catalogue.deadline,
        cast(date_trunc('month', catalogue.deadline) as date) as deadline_month,
        catalogue.source_phrase,
        catalogue.note

    from catalogue
    left join bureaus on catalogue.responsible_bureau = bureaus.bureau_id

)

select * from final
