{# dbt 1.10 runs no header for a test #}
{{ config(sql_header="select * from no_such_table_for_tests;") }}
select 1 as x where false
