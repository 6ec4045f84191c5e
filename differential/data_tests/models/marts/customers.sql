select c.id as customer_id, c.name, c.tier, count(o.order_id) as orders
from {{ ref('raw_customers') }} c
left join {{ ref('stg_orders') }} o on o.customer_id = c.id
group by 1, 2, 3
