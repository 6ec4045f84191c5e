{{ config(materialized='incremental', incremental_strategy='append') }}
select id, v, day from {{ ref('events') }}
where day = {{ var('day') }}
