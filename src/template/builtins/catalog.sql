{#- dbt's global macros that read DuckDB's catalog. Each returns the
    query's table (agate-like: `.rows`, `.columns`, rows by column name),
    as dbt-duckdb's own do; `adapter` has no method of these names in dbt. -#}

{% macro list_relations_without_caching(schema_relation) -%}
  {{ return(adapter.dispatch('list_relations_without_caching', 'dbt')(schema_relation)) }}
{%- endmacro %}

{% macro default__list_relations_without_caching(schema_relation) -%}
  {#- One row a relation of the schema: `database`, `name`, `schema`, `type`
      (`table` or `view`, DuckDB's table types named as dbt names them). -#}
  {% call statement('list_relations_without_caching', fetch_result=True) -%}
    select
      table_catalog as database,
      table_name as name,
      table_schema as schema,
      case table_type
        when 'VIEW' then 'view'
        when 'BASE TABLE' then 'table'
        when 'LOCAL TEMPORARY' then 'table'
      end as type
    from system.information_schema.tables
    where lower(table_schema) = lower('{{ schema_relation.schema }}')
      and lower(table_catalog) = lower('{{ schema_relation.database }}')
  {%- endcall %}
  {{ return(load_result('list_relations_without_caching').table) }}
{%- endmacro %}

{% macro list_schemas(database) -%}
  {{ return(adapter.dispatch('list_schemas', 'dbt')(database)) }}
{%- endmacro %}

{% macro default__list_schemas(database) -%}
  {% call statement('list_schemas', fetch_result=True) -%}
    select schema_name
    from system.information_schema.schemata
    where lower(catalog_name) = lower('{{ database }}')
  {%- endcall %}
  {{ return(load_result('list_schemas').table) }}
{%- endmacro %}
