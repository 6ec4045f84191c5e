{% macro helper() %}root-helper{% endmacro %}
