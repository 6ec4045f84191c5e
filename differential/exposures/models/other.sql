select 1 as unrelated
