{{ config(materialized='incremental', unique_key='id') }}
{% call set_sql_header(config) %}
create temp macro bump(x) as x * 10 + {{ var('run', 1) }};
{% endcall %}
select range as id, bump(range) as v from range({{ var('run', 1) }} + 1)
