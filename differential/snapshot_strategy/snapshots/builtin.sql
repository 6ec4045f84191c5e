{% snapshot snap_check %}
{{ config(strategy='check', check_cols=['status'], hard_deletes='invalidate') }}
select id, name, status, version from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_check_all %}
{{ config(strategy='check', check_cols='all') }}
select id, status, version from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_timestamp %}
{{ config(strategy='timestamp', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}
