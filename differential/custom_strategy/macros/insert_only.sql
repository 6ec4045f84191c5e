{% macro get_incremental_insert_only_sql(arg_dict) %}
{%- set cols = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
insert into {{ arg_dict['target_relation'] }} ({{ cols }})
select {{ cols }} from {{ arg_dict['temp_relation'] }}
where id > (select max(id) from {{ arg_dict['target_relation'] }}) -- key {{ arg_dict['unique_key'] }}
{% endmacro %}
