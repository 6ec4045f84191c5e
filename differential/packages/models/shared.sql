select 'root' as who
