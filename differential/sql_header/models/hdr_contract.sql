{{ config(materialized='table') }}
{% call set_sql_header(config) %}
create or replace temp macro one() as 1;
{% endcall %}
select 1::integer as id
