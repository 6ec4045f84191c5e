{{ config(materialized='table', contract={'enforced': true}) }}
select id, name as Nom, 'x' as extra from {{ ref('people') }}
