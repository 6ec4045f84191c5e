{{ config(schema='ops_override') }}
select count(*) as n from {{ ref('stg_sales') }}
