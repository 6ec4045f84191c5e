select * from {{ ref('raw_a') }}
