{% macro stamp() %}alpha-stamp-{{ helper() }}{% endmacro %}
