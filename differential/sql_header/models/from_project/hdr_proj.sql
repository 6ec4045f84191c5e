{{ config(materialized='table') }}
select getvariable('proj_v') as v
