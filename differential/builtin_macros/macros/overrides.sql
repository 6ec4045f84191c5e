{#- The project's own `default__hash` wins over the built-in one, for the
    public `hash` and for `dbt.hash` alike. -#}
{% macro default__hash(field) -%}
  md5(upper(cast({{ field }} as varchar)))
{%- endmacro %}
