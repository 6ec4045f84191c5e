{{ config(materialized='external') }}
-- the default: parquet, written to <external_root>/<alias>.parquet
select id, status, amount, ordered_at from {{ source('files', 'orders') }}
