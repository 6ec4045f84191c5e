{{ config(materialized='incremental') }}
select {% if is_incremental() %} (select max(n) from {{ this }}) + 1 {% else %} 1 {% endif %} as n
