{{ config(materialized='table') }}
select 10 as child_id, 1 as parent_id, 2 as other_parent_id
