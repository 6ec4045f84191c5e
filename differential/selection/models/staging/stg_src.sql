select * from {{ source('landing', 'raw_a') }}
