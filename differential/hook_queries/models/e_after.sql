select * from {{ ref('b_post_query') }}
