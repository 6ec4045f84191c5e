select 1 as id, 'x' as extra, 2 as more
