{{ config(materialized='table') }}
select c.country, c.n, c.total, c.missing, i.rows_loaded
from {{ ref('py_by_country') }} c
cross join (select count(*) as rows_loaded from {{ ref('py_incremental') }}) i
