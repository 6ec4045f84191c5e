select id as order_id, customer_id, status, amount, "Order Code" as "Order Code"
from {{ ref('raw_orders') }}
