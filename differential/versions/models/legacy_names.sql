select id, name from {{ ref('dim_customers', v=1) }} where name is not null
