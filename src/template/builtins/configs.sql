{#- Macros that read a node's config, as tests and materializations ask:
    `where:` of a data test, `store_failures`, `full_refresh` (the config
    wins; else the command-line flag). -#}

{% macro get_where_subquery(relation) -%}
  {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
{%- endmacro %}

{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}

{% macro should_store_failures() -%}
  {%- set configured = config.get('store_failures') -%}
  {%- if configured is none -%}
    {%- set configured = flags.STORE_FAILURES -%}
  {%- endif -%}
  {%- do return(configured) -%}
{%- endmacro %}

{% macro should_full_refresh() -%}
  {%- set configured = config.get('full_refresh') -%}
  {%- if configured is none -%}
    {%- set configured = flags.FULL_REFRESH -%}
  {%- endif -%}
  {%- do return(configured) -%}
{%- endmacro %}

{#- `{% call set_sql_header(config) %}…{% endcall %}`: the block, rendered
    while the model is parsed, becomes its `sql_header` config. -#}
{% macro set_sql_header(config) -%}
  {%- do config.set('sql_header', caller()) -%}
{%- endmacro %}
