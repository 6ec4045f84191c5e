{#- dbt's documented `ref` override: every call goes through the project's
    macro, which asks `builtins.ref` for the relation. `old_orders` is an
    alias kept for models not yet renamed. -#}
{% macro ref() %}
  {%- set version = kwargs.get('version') or kwargs.get('v') -%}
  {%- set packagename = none -%}
  {%- if (varargs | length) == 1 -%}
    {%- set modelname = varargs[0] -%}
  {%- else -%}
    {%- set packagename = varargs[0] -%}
    {%- set modelname = varargs[1] -%}
  {%- endif -%}
  {%- if modelname == 'old_orders' -%}{%- set modelname = 'orders' -%}{%- endif -%}
  {%- if packagename is not none -%}
    {%- set rel = builtins.ref(packagename, modelname, version=version) -%}
  {%- else -%}
    {%- set rel = builtins.ref(modelname, version=version) -%}
  {%- endif -%}
  {%- do return(rel.include(database=False)) -%}
{% endmacro %}

{% macro source(source_name, table_name) %}
  {%- do return(builtins.source(source_name, table_name)) -%}
{% endmacro %}
