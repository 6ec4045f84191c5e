-- One-argument ref: dbt finds the root project's `shared` first.
select who, (select count(*) from {{ source('pkg_src', 'items') }}) as items from {{ ref('shared') }}
