select 3 as x
