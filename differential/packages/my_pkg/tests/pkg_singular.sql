select * from {{ ref('pkg_orders') }} where label not like 'pkg:%'
