select * from {{ ref('eph_b') }}
