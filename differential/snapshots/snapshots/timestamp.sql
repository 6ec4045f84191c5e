{% snapshot snap_ts_ignore %}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_ts_invalidate %}
{{ config(invalidate_hard_deletes=true) }}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_ts_new_record %}
{{
    config(
      hard_deletes='new_record',
      dbt_valid_to_current="timestamp '9999-12-31 00:00:00'",
    )
}}
select * from {{ ref('src_rows') }}
{% endsnapshot %}

{% snapshot snap_meta_names %}
{{ config(snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to', 'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'loaded_at'}, hard_deletes='ignore') }}
select id, name, updated_at from {{ ref('src_rows') }}
{% endsnapshot %}
