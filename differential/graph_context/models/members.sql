{#- dbt's model context members beside `model` and `graph`. -#}
select
  '{{ database }}' as db,
  '{{ schema }}' as sch,
  '{{ context["this"] }}' as ctx_this,
  '{{ context.var("x", "d") }}' as ctx_var,
  '{{ context["project_name"] }}' as ctx_project,
  '{{ column.string_type(5) }}' as col_type,
  '{{ env.name }}' as env_name
