{{ config(materialized='incremental', unique_key=['id', 'day'], incremental_strategy='delete+insert') }}
select id, day, v from {{ ref('events') }}
where day <= {{ var('day') }}
{% if is_incremental() %}
  and day > (select max(day) - 1 from {{ this }})
{% endif %}
