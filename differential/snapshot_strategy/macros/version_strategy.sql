{#- A project strategy: a row changed when its `version` grew; versions are
    stamped from the version number, not the clock. -#}
{% macro snapshot_version_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
    {%- set hard_deletes = adapter.get_hard_deletes_behavior(config) -%}
    {%- set stamp = "timestamp '2024-01-01' + to_days(version)" -%}
    {% do return({
        "unique_key": config.get('unique_key'),
        "updated_at": stamp,
        "row_changed": "(" ~ snapshotted_rel ~ ".version < " ~ current_rel ~ ".version)",
        "scd_id": snapshot_hash_arguments([config.get('unique_key'), stamp]),
        "invalidate_hard_deletes": hard_deletes == 'invalidate',
        "hard_deletes": hard_deletes,
    }) %}
{% endmacro %}
