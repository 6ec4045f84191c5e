select * from {{ source('ext', 'pets') }}
