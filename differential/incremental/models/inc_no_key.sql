{{ config(materialized='incremental') }}
select id, v from {{ ref('events') }}
where day = {{ var('day') }}
{% if is_incremental() %}
  and id not in (select id from {{ this }})
{% endif %}
