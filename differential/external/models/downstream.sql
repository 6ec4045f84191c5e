{{ config(materialized='table') }}
-- every external model read back through ref
select 'parquet' as src, id, status as val, cast(amount as varchar) as extra from {{ ref('ext_parquet') }}
union all select 'csv', id, label, cast(amount as varchar) from {{ ref('ext_csv') }}
union all select 'json', id, status, size from {{ ref('ext_json') }}
union all select 'part', id, status, cast(ordered_at as varchar) from {{ ref('ext_part') }}
union all select 'empty', id, status, null from {{ ref('ext_empty') }}
union all select 'switch', id, null, cast(doubled as varchar) from {{ ref('ext_switch') }}
