{{ config(materialized='table') }}
select p.id, p.name, sum(x.amount) as total from {{ ref('stg_people') }} p left join {{ ref('stg_payments') }} x using (id) group by 1, 2
