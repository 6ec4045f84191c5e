{#- dbt's cross-database macros as DuckDB runs them: each public name
    dispatches (so a project's `default__x` / `duckdb__x` wins), and the
    `duckdb__` / `default__` bodies give what dbt-duckdb 1.9 renders. -#}

{% macro current_timestamp() -%}
  {{ return(adapter.dispatch('current_timestamp', 'dbt')()) }}
{%- endmacro %}

{% macro duckdb__current_timestamp() -%}
  now()
{%- endmacro %}
