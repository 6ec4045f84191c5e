select id, upper(name) as name, cast(signup_date as date) as signup_date
from {{ ref('raw_customers') }}
