-- Two-argument ref to the package, one-argument refs found in it, and
-- a source the package declares.
select o.id, o.amount, o.v_global, s.name, (select count(*) from {{ source('pkg_src', 'items') }}) as items
from {{ ref('my_pkg', 'pkg_orders') }} as o
join {{ ref('pkg_seed') }} as s using (id)
