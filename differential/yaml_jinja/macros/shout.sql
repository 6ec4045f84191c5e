{% macro shout(s) %}{{ s | upper }}{% endmacro %}
