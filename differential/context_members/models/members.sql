{#- dbt's provider members a package reads: grants' dict difference, results
    stored by hand, the invocation's own arguments, the thread. -#}
{%- set d = diff_of_two_dicts({'select': ['Alice', 'BOB'], 'insert': ['x']}, {'SELECT': ['alice'], 'update': ['y']}) -%}
{%- do store_raw_result('raw', message='OK 7', code='SELECT', rows_affected=7) -%}
{%- set raw = load_result('raw') -%}
{%- do store_result('kept', raw.response) -%}
{%- set args = invocation_args_dict -%}
select
  '{{ thread_id }}' as thread_id,
  '{{ sql_now }}' as sql_now,
  {{ sql_now }} is not null as now_runs,
  '{{ d | list | sort | join(",") }}' as diff_keys,
  '{{ d["select"] | join(",") }}' as diff_select,
  '{{ d["insert"] | join(",") }}' as diff_insert,
  '{{ try_or_compiler_error("never shown", modules.datetime.date, 2020, 1, 2) }}' as tried,
  '{{ raw.response._message }}|{{ raw.response.code }}|{{ raw.response.rows_affected }}' as raw_response,
  {{ raw.data | length }} as raw_rows,
  '{{ load_result("kept").response.code }}' as kept_code,
  '{{ args.which }}' as which,
  '{{ args.select | join(",") }}' as selected,
  '{{ args.vars | tojson }}' as vars,
  '{{ args.get("full_refresh", "absent") }}' as full_refresh,
  '{{ args.empty }}' as empty,
  {{ dbt_metadata_envs is mapping }} as envs_is_mapping
