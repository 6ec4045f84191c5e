{% macro rows() -%}
select * from (values
  (1, 1, 'a{{ var("run", 1) }}'),
  (2, 2, 'b{{ var("run", 1) }}'),
  (3, 3, 'c{{ var("run", 1) }}')
) t(id, day, v)
{%- endmacro %}
