-- The column types a Python model's table gets, as DuckDB names them.
select table_name, column_name, data_type
from information_schema.columns
where table_name in ('py_orders', 'py_by_country', 'py_incremental')
