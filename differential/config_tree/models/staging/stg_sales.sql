select id, amount, region from {{ ref('raw_sales') }}
