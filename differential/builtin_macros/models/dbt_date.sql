{#- dbt 1.8's `date()` renders `to_date(…, 'YYYY-MM-DD')`, a function DuckDB
    does not have: this model fails under dbt-duckdb 1.9 and must fail the
    same way under runner. -#}
select {{ date(2025, 1, 31) }} as fixed_day
