{{ config(materialized='incremental', unique_key='id') }}
select id, customer_id, amount
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where id > (select max(id) from {{ this }})
{% endif %}
