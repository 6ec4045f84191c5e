{{ config(severity='error', fail_calc='count(distinct status)', error_if='> 4', warn_if='> 3') }}
select status from {{ ref('stg_orders') }}
