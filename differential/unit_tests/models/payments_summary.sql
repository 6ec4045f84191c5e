select order_id, sum(amount) as paid, count(*) as payment_count
from {{ source('raw', 'payments') }}
group by order_id
