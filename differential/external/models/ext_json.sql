{{ config(materialized='external', location="out/custom_{{ this.name }}.json") }}
-- json, by the location's extension; the location holds Jinja
select id, status, case when amount > 8 then 'big' end as size
from read_parquet('data/orders.parquet')
