-- an unpinned ref (the latest version, 2) and pinned ones, both spellings
select c.id, c.country, l.name as legacy_name, p.region
from {{ ref('dim_customers') }} c
left join {{ ref('dim_customers', v=1) }} l using (id)
left join {{ ref('dim_customers', version='3') }} p using (id)
