{{ config(materialized='table') }}

{% set decimals = var('amount_decimals', 2) %}

with order_base as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select * from {{ ref('stg_payments') }}
),

order_payments as (
    select
        order_id,
        sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,
        sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bank_transfer_amount,
        sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,
        sum(amount) as total_amount
    from payments
    group by order_id
)

-- An order without payments yet (just placed) still appears, with zero amounts.
select
    order_base.order_id,
    order_base.customer_id,
    order_base.order_date,
    order_base.status,
    round(coalesce(order_payments.credit_card_amount, 0), {{ decimals }}) as credit_card_amount,
    round(coalesce(order_payments.bank_transfer_amount, 0), {{ decimals }}) as bank_transfer_amount,
    round(coalesce(order_payments.gift_card_amount, 0), {{ decimals }}) as gift_card_amount,
    round(coalesce(order_payments.total_amount, 0), {{ decimals }}) as amount
from order_base
left join order_payments
    on order_base.order_id = order_payments.order_id
