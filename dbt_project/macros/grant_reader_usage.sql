{#
    The read-only BI role may use the marts schema and nothing else; dbt's
    `grants` config gives it select on each mart table.
#}
{% macro grant_reader_usage() %}
    {% set role = env_var('BI_READONLY_ROLE', 'bi_reader') %}
    grant usage on schema marts to {{ adapter.quote(role) }}
{% endmacro %}
