-- depends_on: {{ ref('base') }}
select {% if execute %}(select count(*) from {{ ref('base') }}){% else %}0{% endif %} as n
