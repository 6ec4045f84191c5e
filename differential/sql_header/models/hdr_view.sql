{{ config(materialized='view', sql_header="set variable seen = 7;") }}
-- read when the view is queried, on another connection: null there
select getvariable('seen') as seen, 1 as one
