{#- In another file: a package macro calls it by its plain name. -#}
{% macro pkg_multiplier() %}100{% endmacro %}
