select one from {{ ref('eph_contract') }}
