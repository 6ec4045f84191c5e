{% snapshot events_snap %}
{{ config(schema='history', unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ ref('events') }}
{% endsnapshot %}
