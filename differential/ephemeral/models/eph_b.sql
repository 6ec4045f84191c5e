{{ config(materialized='ephemeral') }}
select id, v2 + 1 as v3 from {{ ref('eph_a') }} where id > 1
