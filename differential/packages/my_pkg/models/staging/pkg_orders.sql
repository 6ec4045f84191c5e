{{ config(materialized='view', tags=['in_file']) }}
-- Plain-name macros of the package, its vars as the root scopes them.
select
  id,
  {{ cents('amount') }} as amount,
  {{ label('name') }} as label,
  '{{ var("v_global") }}' as v_global,
  '{{ var("v_scoped") }}' as v_scoped,
  '{{ var("v_pkg") }}' as v_pkg,
  '{{ this }}' as me
from {{ ref('pkg_seed') }}
