select * from {{ ref('root_orders') }} where amount < -1000
