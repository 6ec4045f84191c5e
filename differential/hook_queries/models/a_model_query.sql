{# dbt compiles the model before its pre-hook runs: the count leaves it out. #}
{{ config(materialized='table', pre_hook="insert into audit select coalesce(max(seq), 0) + 1, 'a pre' from audit") }}
select {{ run_query("select count(*) from audit where what = 'a pre'")[0][0] if execute else 0 }} as a_pre_rows_seen
