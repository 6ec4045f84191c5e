{{ config(materialized='table') }}
-- depends_on: {{ ref('hdr_macro') }} {{ ref('hdr_setting') }} {{ ref('hdr_inc') }} {{ ref('hdr_view') }}
-- depends_on: {{ ref('hdr_ext') }} {{ ref('hdr_proj') }} {{ ref('hdr_yaml') }} {{ ref('hdr_kwarg') }}
-- what the headers made or set is gone for the next node
select
  (select count(*) from duckdb_functions() where function_name in ('add_hv', 'bump', 'ext_label')) as macros,
  (select count(*) from duckdb_tables() where temporary) as temp_tables,
  getvariable('answer') as answer,
  current_setting('default_null_order') as null_order
