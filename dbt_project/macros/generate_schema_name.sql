{#
    Models land in the schema their folder names (staging, intermediate,
    marts, reference), not in "<target>_<folder>": BI tools are promised the
    schema `marts` (FEEDS.md section 5).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
