select customer_id, orders
from {{ ref('customers') }}
where orders = 0
