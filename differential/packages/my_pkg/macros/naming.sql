{#- The package's own generate_schema_name: dbt calls it for the package's
    nodes only. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name -%}
    pkg_{{ custom_schema_name | trim }}
  {%- else -%}
    {{ target.schema }}_pkg
  {%- endif -%}
{%- endmacro %}
