{{ config(materialized='table') }}
select id from {{ ref('events') }}
{{ except() }}
select 2
{{ except() }}
(select 1 {{ intersect() }} select id from {{ ref('events') }})
