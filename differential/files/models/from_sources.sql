{{ config(materialized='table') }}
-- Sources on files (dbt-duckdb's external_location): a formatted path and a call
select o.id, o.status, e.json ->> '$.user.name' as user_name
from {{ source('files', 'orders') }} o
left join {{ source('files', 'events') }} e on (e.json ->> '$.id')::integer = o.id
