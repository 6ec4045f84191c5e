{{ config(materialized='table', alias='sales_eu') }}
select * from {{ ref('stg_sales') }} where region = 'eu'
