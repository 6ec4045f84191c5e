select * from {{ ref('old_orders') }} where amount < 0
