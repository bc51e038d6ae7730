{#
    A covering index (INCLUDE columns, optionally partial: rows whose columns
    equal the given values), which dbt-postgres' `indexes` config cannot
    declare. Used as a post-hook; created once per table (a later incremental
    build finds it). The name carries a timestamp, as dbt's own index names
    do: during a full refresh the old table still holds its index (under the
    backup name) when the post-hook runs.
#}
{% macro covering_index(relation, prefix, columns, include, where_equals={}) %}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select indexname from pg_indexes where schemaname = '" ~ relation.schema
            ~ "' and tablename = '" ~ relation.identifier ~ "' and indexname like '" ~ prefix ~ "%'"
        ) -%}
    {%- endif -%}
    {%- if found is none or found.rows | length > 0 -%}
        select 1
    {%- else -%}
        create index {{ prefix }}_{{ modules.datetime.datetime.utcnow().strftime('%Y%m%d%H%M%S%f') }}
        on {{ relation }} ({{ columns | join(', ') }})
        include ({{ include | join(', ') }})
        {%- if where_equals %}
            where
            {%- for column, value in where_equals.items() %}
                {{ 'and ' if not loop.first }}{{ column }} = '{{ value }}'
            {%- endfor %}
        {%- endif %}
    {%- endif -%}
{% endmacro %}
