{{ config(materialized='table', alias='about', post_hook="insert into hook_log values ('post: {{ model.unique_id }}')") }}
select
  '{{ model.name }}' as name,
  '{{ model.unique_id }}' as unique_id,
  '{{ model.resource_type }}' as resource_type,
  '{{ model.package_name }}' as package_name,
  '{{ model.original_file_path }}' as original_file_path,
  '{{ model.config.materialized }}' as materialized,
  '{{ model.alias }}' as alias,
  '{{ model.schema }}' as schema_name,
  '{{ model.tags | join(",") }}' as tags,
  '{{ model.fqn | join(".") }}' as fqn,
  '{{ project_name }}' as project_name
