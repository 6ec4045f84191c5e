{{ config(materialized='table', sql_header="select * from no_such_table_for_header;") }}
select 1 as id
