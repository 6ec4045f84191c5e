select * from {{ ref('hidden') }}
