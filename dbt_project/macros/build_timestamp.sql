{#
    When this dbt invocation started: the `built_at` of every row an
    incremental model writes (one value per build), so that the data tests of
    those models can check only the rows the latest build wrote (see
    get_where_subquery).
#}
{% macro build_timestamp() %}
    cast('{{ run_started_at }}' as timestamptz)
{%- endmacro %}
