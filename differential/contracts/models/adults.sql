{{ config(materialized='table') }}
select id, name, cast(age as integer) as age, cast(age as decimal(10, 2)) * 0.5 as half_age
from {{ ref('people') }}
where age is not null
