{% snapshot snap_check_cols %}
{{ config(strategy='check', target_schema='snaps', hard_deletes='invalidate', updated_at='updated_at') }}
select id, name, status, updated_at from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_check_all %}
{{ config(strategy='check', check_cols='all', unique_key=['id', 'region'], schema='hist', hard_deletes='new_record') }}
select * exclude (name, updated_at) from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_check_ignore %}
{{ config(strategy='check', check_cols=['status', 'region']) }}
select id, region, status from {{ ref('src_rows') }}
{% endsnapshot %}
