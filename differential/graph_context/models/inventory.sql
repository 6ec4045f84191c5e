-- depends_on: {{ ref('wide') }}, {{ ref('narrow') }}
{#- What the graph and the catalog hold, read at run time only. -#}
{%- set models = [] -%}
{%- set seeds = [] -%}
{%- set missing = [] -%}
{%- set listed = [] -%}
{%- if execute -%}
  {%- for n in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') -%}
    {%- do models.append(n.name ~ ':' ~ n.config.materialized) -%}
  {%- endfor -%}
  {%- for n in graph.nodes.values() | selectattr('resource_type', 'equalto', 'seed') -%}
    {%- do seeds.append(n.name) -%}
  {%- endfor -%}
  {%- for c in adapter.get_missing_columns(ref('wide'), ref('narrow')) -%}
    {%- do missing.append(c.name ~ ' ' ~ c.data_type) -%}
  {%- endfor -%}
  {%- set here = api.Relation.create(database=this.database, schema=this.schema) -%}
  {%- for r in list_relations_without_caching(here) -%}
    {%- if r['name'] in ('wide', 'narrow', 'people') -%}{%- do listed.append(r['name'] ~ ':' ~ r['type']) -%}{%- endif -%}
  {%- endfor -%}
  {%- for s in list_schemas(this.database) -%}
    {%- if s[0] == 'main' -%}{%- do listed.append('schema ' ~ s[0]) -%}{%- endif -%}
  {%- endfor -%}
{%- endif %}
select
  '{{ models | sort | join(",") }}' as models,
  '{{ seeds | join(",") }}' as seeds,
  '{{ missing | join(",") }}' as missing,
  '{{ listed | sort | join(",") }}' as listed,
  {{ selected_resources | length }} as selected,
  '{{ graph.sources.values() | map(attribute='name') | sort | join(",") }}' as sources
