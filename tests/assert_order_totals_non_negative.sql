-- An order's total is the sum of its payments, so it can never be below zero.
-- Returns the offending orders; the test passes when there are none.
select
    order_id,
    amount
from {{ ref('orders') }}
where amount < 0
