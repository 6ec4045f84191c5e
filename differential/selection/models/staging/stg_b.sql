{{ config(tags=['nightly']) }}
select * from {{ ref('raw_b') }}
