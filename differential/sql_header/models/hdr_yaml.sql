{{ config(materialized='table') }}
select getvariable('yv') as v
