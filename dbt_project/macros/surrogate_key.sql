{#
    md5 of the given expressions, nulls made explicit: the small part of
    dbt_utils.generate_surrogate_key this project needs (hub packages cannot be
    downloaded here).
#}
{% macro surrogate_key(expressions) -%}
    md5(
        {%- for expression in expressions %}
            coalesce(cast({{ expression }} as text), '<null>')
            {%- if not loop.last %} || '|' || {% endif -%}
        {%- endfor %}
    )
{%- endmacro %}
