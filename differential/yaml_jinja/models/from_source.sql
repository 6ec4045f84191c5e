select id, name from {{ source('landing', 'folks') }}
