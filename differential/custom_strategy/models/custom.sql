{{ config(materialized='incremental', incremental_strategy='insert_only', unique_key='id') }}
select range as id, 'v{{ var("v") }}' as seen from range({{ var('v') }} * 2)
