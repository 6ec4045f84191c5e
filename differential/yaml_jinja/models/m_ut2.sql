select cast(x as varchar) as s, '{{ "{{ x }}" }}' as v from {{ ref('m_env') }}
