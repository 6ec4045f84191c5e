{{ config(materialized='external', options={'partition_by': 'status, id'}) }}
-- no `overwrite`: DuckDB refuses to write into the folder the first run left
select id, status, amount from {{ source('files', 'orders') }}
