{{ config(materialized='external') }}
-- no rows: the file holds one all-null row, the view filters it out
select id, status from {{ source('files', 'orders') }} where id > 100
