{# The first day of the month of a `YYYY-MM` period text. #}
{% macro month_of(period) -%}
    to_date({{ period }} || '-01', 'YYYY-MM-DD')
{%- endmacro %}
