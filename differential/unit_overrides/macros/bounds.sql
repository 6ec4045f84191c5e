{% macro bounds() %}1{% endmacro %}

{% macro doubled() %}{{ diff.bounds() * 2 }}{% endmacro %}
