{#- A strategy written for dbt before 1.9: it answers `invalidate_hard_deletes`
    only, which dbt 1.10 no longer reads, so deleted rows stay current. -#}
{% macro snapshot_legacy_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
    {%- set stamp = "timestamp '2024-01-01' + to_days(version)" -%}
    {{ return({
        "unique_key": model_config.unique_key,
        "updated_at": stamp,
        "row_changed": "(" ~ snapshotted_rel ~ ".version < " ~ current_rel ~ ".version)",
        "scd_id": "md5('" ~ node.name ~ "' || id::varchar || version::varchar)",
        "invalidate_hard_deletes": true,
    }) }}
{% endmacro %}
