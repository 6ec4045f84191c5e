{% macro source_label() %}'web'{% endmacro %}

{% macro order_source() %}{{ source_label() }}{% endmacro %}
