select * from {{ ref('failing_post_hook') }}
