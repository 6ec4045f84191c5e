{#- The project names its own schemas, so relation names go through the
    naming macros (dbt's default alias, `<name>_v<v>`, for the versions). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- else -%}
    {{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}
