select id, status from {{ source('raw', 'raw_orders') }}
