{#- Overrides dbt's `check` strategy for this project: its versions are
    stamped from the version number instead of the snapshot time. -#}
{% macro snapshot_check_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
    {%- set strategy = dbt.snapshot_check_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) -%}
    {%- set stamp = "timestamp '2024-01-01' + to_days(version)" -%}
    {%- do strategy.update({
        "updated_at": stamp,
        "scd_id": snapshot_hash_arguments(api.Relation.scd_args(strategy.unique_key, stamp)),
    }) -%}
    {{ return(strategy) }}
{% endmacro %}
