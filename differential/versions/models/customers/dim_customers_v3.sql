select id, coalesce(name, '?') as name, country, 'EU' as region from {{ ref('raw_customers') }}
