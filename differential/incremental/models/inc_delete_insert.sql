{{ config(materialized='incremental', unique_key='id') }}
select id, v, day from {{ ref('events') }}
where day = {{ var('day') }}
