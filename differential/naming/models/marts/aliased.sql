{{ config(alias='explicit_alias') }}
select * from {{ ref('people_summary') }}
