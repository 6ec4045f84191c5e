{#- A package's strategy: a change of `status` makes a version; deleted keys
    get a deletion record whatever the snapshot's config says. -#}
{% macro snapshot_newest_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
    {%- set stamp = "timestamp '2024-01-01' + to_days(version)" -%}
    {%- set key = config.get('unique_key') -%}
    {%- set changed -%}
        ({{ snapshotted_rel }}.status is distinct from {{ current_rel }}.status)
    {%- endset -%}
    {% do return({
        "unique_key": key,
        "updated_at": stamp,
        "row_changed": changed,
        "scd_id": snapshot_hash_arguments(api.Relation.scd_args(key, stamp)),
        "hard_deletes": "new_record",
    }) %}
{% endmacro %}
