{{ config(materialized=var('mat', 'table')) }}
-- a table on the first run, an external model (a view over a file) on the last
select id, amount * 2 as doubled from {{ source('files', 'orders') }}
