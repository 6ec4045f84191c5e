select 4 as x
