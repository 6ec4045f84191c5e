select * from {{ ref('hdr_bad') }}
