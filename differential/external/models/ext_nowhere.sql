{{ config(materialized='external', location='missing_folder/x.parquet') }}
-- DuckDB writes files, not folders: this one fails
select 1 as id
