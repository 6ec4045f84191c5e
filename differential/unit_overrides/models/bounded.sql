-- `diff.bounds()` directly and through another macro (its text `1` times 2
-- is `11`, as in Python; the override's number 5 doubles), and unqualified.
select {{ diff.bounds() }} as qualified, {{ doubled() }} as through_macro, {{ bounds() }} as plain
