{#- The ref is reached only when the model runs: dbt refuses it. -#}
select {% if execute %}(select count(*) from {{ ref('base') }}){% else %}0{% endif %} as n
