{{ config(materialized='external', options={'partition_by': 'status', 'overwrite': true}) }}
-- partitioned parquet: a folder per status, read back through a glob
select id, status, ordered_at from {{ source('files', 'orders') }}
