{{ config(materialized='table') }}
select
  id,
  {{ dateadd('day', 1, 'd') }} as next_day,
  {{ dateadd('month', -1, 'd') }} as prev_month,
  {{ dateadd('quarter', 1, 'd') }} as next_quarter,
  {{ dateadd('week', 'id', 'd') }} as plus_id_weeks,
  {{ dateadd('hour', 3, 'ts') }} as ts_plus_3h,
  {{ datediff("'2024-01-01'::date", 'd', 'day') }} as days_since,
  {{ datediff("'2024-01-01'::date", 'd', 'week') }} as weeks_since,
  {{ datediff("'2024-01-01'::date", 'd', 'month') }} as months_since,
  {{ datediff('ts', "'2026-01-01 00:00:00'::timestamp", 'hour') }} as hours_until,
  {{ date_trunc('month', 'd') }} as month_start,
  {{ date_trunc('week', 'ts') }} as week_start,
  {{ last_day('d', 'month') }} as month_end,
  {{ last_day('d', 'quarter') }} as quarter_end,
  {{ dbt.last_day('d', 'year') }} as year_end
from {{ ref('events') }}
