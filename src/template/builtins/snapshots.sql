{#- dbt's snapshot strategies as macros, for a project's own strategy to
    build on (`dbt.snapshot_check_strategy(...)`) and for a strategy written
    `dbt.timestamp` / `dbt.check`. A snapshot whose strategy is plain
    `timestamp` or `check`, not overridden, never renders them: runner
    writes the same SQL in Rust (executor::snapshot). Each returns dbt's
    strategy dict: `unique_key`, `updated_at`, `row_changed`, `scd_id`,
    `invalidate_hard_deletes` and `hard_deletes`. -#}

{% macro snapshot_hash_arguments(args) -%}
  {{ adapter.dispatch('snapshot_hash_arguments', 'dbt')(args) }}
{%- endmacro %}

{#- md5 of the arguments as text, nulls as '', joined by '|'. -#}
{% macro default__snapshot_hash_arguments(args) -%}
  {%- set texts = [] -%}
  {%- for arg in args -%}
    {%- do texts.append("coalesce(cast(" ~ arg ~ " as varchar ), '')") -%}
  {%- endfor -%}
  md5({{ texts | join(" || '|' || ") }})
{%- endmacro %}

{% macro get_true_sql() -%}
  {{ adapter.dispatch('get_true_sql', 'dbt')() }}
{%- endmacro %}

{% macro default__get_true_sql() -%}
  {{ return('TRUE') }}
{%- endmacro %}

{#- The meta columns' default names (a snapshot's config renames them). -#}
{% macro get_snapshot_table_column_names() -%}
  {%- set names = {} -%}
  {%- for name in ['dbt_valid_to', 'dbt_valid_from', 'dbt_scd_id', 'dbt_updated_at', 'dbt_is_deleted'] -%}
    {%- do names.update({name: name}) -%}
  {%- endfor -%}
  {{ return(names) }}
{%- endmacro %}

{% macro get_columns_in_query(select_sql) -%}
  {{ return(adapter.dispatch('get_columns_in_query', 'dbt')(select_sql)) }}
{%- endmacro %}

{#- The names of the columns `select_sql` returns, read without its rows. -#}
{% macro default__get_columns_in_query(select_sql) -%}
  {%- set empty = run_query("select * from (\n" ~ select_sql ~ "\n) as __dbt_sbq\nwhere false\nlimit 0") -%}
  {{ return(empty.column_names if empty is not none else []) }}
{%- endmacro %}

{#- A row changed when its `updated_at` is later than the current version's
    start (the table's own column, which a strategy change keeps). -#}
{% macro snapshot_timestamp_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
  {%- set key = config.get('unique_key') -%}
  {%- set updated_at = config.get('updated_at') -%}
  {%- set hard_deletes = adapter.get_hard_deletes_behavior(config) -%}
  {%- set names = config.get('snapshot_table_column_names') or get_snapshot_table_column_names() -%}
  {%- set changed = '(' ~ snapshotted_rel ~ '.' ~ names.dbt_valid_from ~ ' < ' ~ current_rel ~ '.' ~ updated_at ~ ')' -%}
  {#- Set first, so a caller can `update` it, as it can dbt's. -#}
  {%- set strategy = {
      'unique_key': key,
      'updated_at': updated_at,
      'row_changed': changed,
      'scd_id': snapshot_hash_arguments(api.Relation.scd_args(key, updated_at)),
      'invalidate_hard_deletes': hard_deletes == 'invalidate',
      'hard_deletes': hard_deletes,
  } -%}
  {{ return(strategy) }}
{% endmacro %}

{#- `check_cols` as the table has them: whether the query has a column the
    table lacks, and the quoted columns both have. Before the table exists
    nothing is compared. -#}
{% macro snapshot_check_all_get_existing_columns(node, target_exists, check_cols_config) -%}
  {%- if not target_exists -%}
    {{ return((false, [])) }}
  {%- endif -%}
  {%- if check_cols_config == 'all' -%}
    {%- set asked = get_columns_in_query(node['compiled_code']) -%}
  {%- elif check_cols_config is sequence and check_cols_config is not string and (check_cols_config | length) > 0 -%}
    {%- set asked = get_columns_in_query('select ' ~ (check_cols_config | join(', ')) ~ ' from (\n' ~ node['compiled_code'] ~ '\n) subq') -%}
  {%- else -%}
    {%- do exceptions.raise_compiler_error("Invalid value for 'check_cols': " ~ check_cols_config) -%}
  {%- endif -%}
  {%- set table = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
  {%- set present = adapter.get_columns_in_relation(table) | map(attribute='name') | list -%}
  {%- set kept = [] -%}
  {%- set state = namespace(added=false) -%}
  {%- for col in asked -%}
    {%- if col in present -%}
      {%- do kept.append(adapter.quote(col)) -%}
    {%- else -%}
      {%- set state.added = true -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return((state.added, kept)) }}
{%- endmacro %}

{#- A row changed when one of `check_cols` differs (nulls included), or
    always once the query has a column the table lacks; versions are stamped
    with `updated_at` when set, else the snapshot time. -#}
{% macro snapshot_check_strategy(node, snapshotted_rel, current_rel, model_config, target_exists) %}
  {%- set key = config.get('unique_key') -%}
  {%- set hard_deletes = adapter.get_hard_deletes_behavior(config) -%}
  {%- set updated_at = config.get('updated_at') or snapshot_get_time() -%}
  {%- set found = snapshot_check_all_get_existing_columns(node, target_exists, config.get('check_cols')) -%}
  {%- if found[0] -%}
    {%- set changed = '(' ~ get_true_sql() ~ ')' -%}
  {%- else -%}
    {%- set tests = [] -%}
    {%- for col in found[1] -%}
      {%- set a = snapshotted_rel ~ '.' ~ col -%}
      {%- set b = current_rel ~ '.' ~ col -%}
      {%- do tests.append(a ~ ' != ' ~ b ~ ' or ( ((' ~ a ~ ' is null) and not (' ~ b ~ ' is null)) or ((not ' ~ a ~ ' is null) and (' ~ b ~ ' is null)) )') -%}
    {%- endfor -%}
    {%- set changed = '(' ~ (tests | join(' or ')) ~ ')' -%}
  {%- endif -%}
  {#- Set first, so a caller can `update` it, as it can dbt's. -#}
  {%- set strategy = {
      'unique_key': key,
      'updated_at': updated_at,
      'row_changed': changed,
      'scd_id': snapshot_hash_arguments(api.Relation.scd_args(key, updated_at)),
      'invalidate_hard_deletes': hard_deletes == 'invalidate',
      'hard_deletes': hard_deletes,
  } -%}
  {{ return(strategy) }}
{% endmacro %}
