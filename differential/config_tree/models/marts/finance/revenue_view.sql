select * from {{ ref('revenue') }}
