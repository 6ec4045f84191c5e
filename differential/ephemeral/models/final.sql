{{ config(materialized='table') }}
select b.id, b.v3, a.v2 from {{ ref('eph_b') }} b join {{ ref('eph_a') }} a using (id)
