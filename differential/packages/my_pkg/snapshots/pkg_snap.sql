{% snapshot pkg_snap %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select id, name, updated_at from {{ ref('pkg_seed') }}
{% endsnapshot %}
