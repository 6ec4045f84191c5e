select x, '{{ var("uv", "none") }}' as v from {{ ref('m_env') }}
