{{ config(materialized='table') }}
select id, name, status from {{ ref('snap_ts_ignore') }} where dbt_valid_to is null
