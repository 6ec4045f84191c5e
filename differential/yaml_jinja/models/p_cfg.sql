select 6 as x
