-- The calendar at the grain of the feeds: one row per month.

with

months as (

    select cast(month_start as date) as month
    from generate_series(
        cast('{{ var("calendar_start") }}' as date),
        cast('{{ var("calendar_end") }}' as date),
        interval '1 month'
    ) as month_start

),

final as (

    select
        month,
        to_char(month, 'YYYY-MM') as year_month,
        cast(extract(year from month) as integer) as year,
        cast(extract(quarter from month) as integer) as quarter,
        cast(extract(month from month) as integer) as month_of_year,
        cast((month + interval '1 month' - interval '1 day') as date) as month_end,
        extract(month from month) in (3, 6, 9, 12) as is_quarter_end,
        extract(month from month) in (6, 12) as is_half_year_end,
        extract(month from month) = 12 as is_year_end

    from months

)

select * from final
