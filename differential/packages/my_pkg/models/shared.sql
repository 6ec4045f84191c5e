select 'pkg' as who
