-- version 1, defined in a file of its own name (`defined_in`)
select id, name from {{ ref('raw_customers') }}
