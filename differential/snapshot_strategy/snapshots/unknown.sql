{% snapshot snap_unknown %}
{{ config(strategy='nope') }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_no_package %}
{{ config(strategy='nopkg.newest') }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_package_unqualified %}
{{ config(strategy='newest') }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}
