{% snapshot snap_var %}
{{ config(unique_key='id', strategy='timestamp', updated_at='u', target_schema='main',
          sql_header="set variable sv = " ~ var('run', 1) ~ ";") }}
select 1 as id, getvariable('sv') as v, timestamp '2024-01-01' + to_days(getvariable('sv')) as u
{% endsnapshot %}

{% snapshot snap_macro %}
{# dbt-core reads a first build's column types before the header runs: this fails #}
{{ config(unique_key='id', strategy='timestamp', updated_at='u', target_schema='main') }}
{% call set_sql_header(config) %}
create temp macro tripled(x) as x * 3;
{% endcall %}
select 1 as id, tripled(2) as v, timestamp '2024-01-01' as u
{% endsnapshot %}
