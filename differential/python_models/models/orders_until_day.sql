select * from {{ ref('orders') }} where day <= {{ var('day') }}
