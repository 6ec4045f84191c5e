select 5 as x
