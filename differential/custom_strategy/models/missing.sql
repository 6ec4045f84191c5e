{{ config(materialized='incremental', incremental_strategy='no_such_strategy') }}
select range as id from range({{ var('v') }})
