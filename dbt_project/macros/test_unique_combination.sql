{#
    Generic test: no two rows share the given columns (nulls compare equal).
    The part of dbt_utils.unique_combination_of_columns this project needs.
#}
{% test unique_combination(model, columns) %}

    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1

{% endtest %}
