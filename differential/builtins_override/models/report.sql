select count(*) as n, sum(amount) as total,
  '{{ ref("old_orders") }}' as rendered,
  '{{ local_md5("runner") }}' as md5,
  '{{ builtins.ref("orders") }}' as direct,
  '{{ builtins.var("x", "dflt") }}' as v
from {{ ref('old_orders') }}
