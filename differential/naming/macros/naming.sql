{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- elif node.resource_type in ('seed', 'snapshot') -%}
    {{ custom_schema_name | trim }}
  {%- else -%}
    {{ default__generate_schema_name(custom_schema_name, node) }}
  {%- endif -%}
{%- endmacro %}

{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- if custom_alias_name -%}
    {{ custom_alias_name | trim }}
  {%- elif 'marts' in node.fqn and node.config.materialized == 'table' -%}
    mart_{{ node.name }}
  {%- else -%}
    {{ node.name }}
  {%- endif -%}
{%- endmacro %}
