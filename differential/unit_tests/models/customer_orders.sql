{{ config(materialized='table') }}
select
    c.id as customer_id,
    c.name,
    count(o.id) as order_count,
    coalesce(sum(o.amount), 0) as total_amount,
    '{{ env_var("DIFF_REGION", "eu") }}' as region,
    {{ order_source() }} as channel
from {{ ref('stg_customers') }} c
left join {{ ref('stg_orders') }} o
    on o.customer_id = c.id and o.amount >= {{ var('min_amount') }}
group by 1, 2
