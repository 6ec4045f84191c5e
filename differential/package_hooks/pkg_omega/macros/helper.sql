{# The root project has a `helper` too: inside this package, this one is found first. #}
{% macro helper() %}omega-helper{% endmacro %}
