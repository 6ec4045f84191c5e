{{ config(materialized='table') }}

with customer_base as (
    select * from {{ ref('stg_customers') }}
),

order_facts as (
    select * from {{ ref('orders') }}
),

customer_orders as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as most_recent_order_date,
        count(*) as number_of_orders,
        -- Returned orders were refunded, so they add nothing to lifetime value.
        sum(case when status <> 'returned' then amount else 0 end) as lifetime_value
    from order_facts
    group by customer_id
)

select
    customer_base.customer_id,
    customer_base.first_name,
    customer_base.last_name,
    customer_base.signup_date,
    customer_orders.first_order_date,
    customer_orders.most_recent_order_date,
    coalesce(customer_orders.number_of_orders, 0) as number_of_orders,
    round(coalesce(customer_orders.lifetime_value, 0), {{ var('amount_decimals', 2) }}) as lifetime_value
from customer_base
left join customer_orders
    on customer_base.customer_id = customer_orders.customer_id
