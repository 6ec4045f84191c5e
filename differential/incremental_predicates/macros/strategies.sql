{# dbt-duckdb 1.9 refuses `merge`: a strategy of the project's calls dbt's own merge #}
{% macro get_incremental_merge_p_sql(arg_dict) %}
  {{ return(get_incremental_merge_sql(arg_dict)) }}
{% endmacro %}

{% macro get_incremental_delete_p_sql(arg_dict) %}
  {{ return(get_delete_insert_merge_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['unique_key'], arg_dict['dest_columns'], arg_dict['incremental_predicates'])) }}
{% endmacro %}

{# writes what arg_dict's incremental_predicates holds into the rows #}
{% macro get_incremental_echo_sql(arg_dict) %}
  {%- set preds = arg_dict['incremental_predicates'] -%}
  insert into {{ arg_dict['target_relation'] }} (id, day, v)
  select id, day, '{{ "none" if preds is none else preds | join(" & ") }}' from {{ arg_dict['temp_relation'] }}
{% endmacro %}
