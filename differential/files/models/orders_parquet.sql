{{ config(materialized='table') }}
-- parquet read with read_parquet and with a bare file name
select p.id, p.status, p.amount, p.ordered_at, typeof(p.amount) as amount_type, q.n
from read_parquet('data/orders.parquet') p
cross join (select count(*) as n from 'data/orders.parquet') q
