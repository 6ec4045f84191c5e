select * from {{ ref('payments') }}
