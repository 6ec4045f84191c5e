{{ config(materialized='external', sql_header="create temp macro ext_label(x) as 'ext-' || x;") }}
select range as id, ext_label(range) as label from range(2)
