select 7 as x
