select id, coalesce(name, '?') as name, country from {{ ref('raw_customers') }}
