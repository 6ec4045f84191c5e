{{ config(materialized='ephemeral') }}
select id, v * 2 as v2 from {{ ref('base') }}
