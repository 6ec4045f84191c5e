{{ config(materialized='table', sql_header="set session default_null_order = 'nulls_first'; set variable answer = 42;") }}
select current_setting('default_null_order') as null_order, getvariable('answer') as answer
