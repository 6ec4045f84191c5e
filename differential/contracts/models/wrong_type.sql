{{ config(materialized='table') }}
select id, name, age from {{ ref('people') }}
