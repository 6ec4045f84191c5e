{{ config(materialized='external', format='csv', delimiter='|') }}
-- csv with a delimiter, read back with read_csv's own detection
select id, status || ', ' || id as label, amount from {{ source('files', 'orders_by_call') }}
