{{ config(materialized='view') }}
select count(*) as n from {{ ref('joined') }}
