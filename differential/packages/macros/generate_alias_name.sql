{#- The root project's override names the package's nodes too (the package
    has none of its own). -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {%- if custom_alias_name -%}
    {{ custom_alias_name | trim }}
  {%- elif node.package_name != 'diff' -%}
    {{ node.package_name }}__{{ node.name }}
  {%- else -%}
    {{ node.name }}
  {%- endif -%}
{%- endmacro %}
