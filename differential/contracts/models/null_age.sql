{{ config(materialized='table') }}
select id, age from {{ ref('people') }}
