{{ config(materialized='view') }}
select table_schema, table_name, column_name, data_type, ordinal_position
from information_schema.columns
where table_name like 'snap%'
