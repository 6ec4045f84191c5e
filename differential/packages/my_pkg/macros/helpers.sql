{% macro cents(col) -%}
  {{ pkg_multiplier() }} * {{ col }}
{%- endmacro %}

{% macro label(x) -%}
  {{ return(adapter.dispatch('label', 'my_pkg')(x)) }}
{%- endmacro %}

{% macro default__label(x) -%}
  'pkg:' || {{ x }}
{%- endmacro %}
