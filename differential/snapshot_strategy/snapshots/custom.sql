{% snapshot snap_version %}
{{ config(strategy='version', hard_deletes='invalidate') }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_version_ignore %}
{{ config(strategy='version') }}
select id, name, version from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_newest %}
{{ config(strategy='my_strats.newest', unique_key=['id']) }}
select id, status, version from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_legacy %}
{{ config(strategy='legacy', invalidate_hard_deletes=true) }}
select id, version from {{ ref('src_rows') }}
{% endsnapshot %}
