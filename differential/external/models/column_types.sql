-- how each file's columns come back: a view over information_schema
select table_name, column_name, data_type
from information_schema.columns
where table_name like 'ext_%'
