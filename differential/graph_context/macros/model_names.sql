{#- The graph and the node's own `model`, read inside a macro. -#}
{% macro model_names() -%}
  {{ return(graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | map(attribute='name') | sort | join(',') ~ ' from ' ~ model.name ~ ' in ' ~ project_name ~ ' ' ~ schema) }}
{%- endmacro %}
