{{ config(materialized='table') }}
with days as (
  {{ date_spine('day', "'2025-01-28'::date", "'2025-02-03'::date") }}
), months as (
  {{ dbt.date_spine('month', "'2024-11-01'::date", "'2025-03-01'::date") }}
), numbers as (
  {{ generate_series(10) }}
)
select 'day' as kind, cast(date_day as varchar) as value from days
union all select 'month', cast(date_month as varchar) from months
union all select 'number', cast(generated_number as varchar) from numbers
