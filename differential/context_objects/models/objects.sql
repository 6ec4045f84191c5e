{%- set out = {} -%}
{%- if execute -%}
  {%- set r = api.Relation.create(database='warehouse', schema='main', identifier='m', type='view') -%}
  {%- do out.update({
    'rel_is_view': r.is_view,
    'rel_is_table': r.is_table,
    'rel_type': r.type,
    'rel_render': r.render(),
    'rel_no_db': r.include(database=false) | string,
    'rel_quote': r.quote(identifier=false) | string,
    'rel_name': r.name,
    'cfg_mat': config.get('materialized'),
    'cfg_req': config.require('materialized'),
    'cfg_missing': config.get('nope', 'fallback'),
    'cfg_tags': config.get('tags'),
    'cfg_osc': config.get('on_schema_change'),
    'cfg_enabled': config.get('enabled'),
    'cfg_persist': config.get('persist_docs'),
    'cfg_unique': config.get('unique_key', 'unset'),
    'cfg_meta_owner': config.get('meta').owner,
    'col_num': api.Column.create('n', 'integer').is_number(),
    'col_numeric': api.Column.create('n', 'decimal(10,2)').is_numeric(),
    'col_float': api.Column.create('n', 'double').is_float(),
    'col_quoted': api.Column.create('My Col', 'integer').quoted,
    'col_trans': api.Column.translate_type('string'),
  }) -%}
{%- endif %}
select
{%- for k, v in out.items() | sort %}
  '{{ v | string | replace("'", "''") }}' as {{ k }}{{ "," if not loop.last }}
{%- endfor %}
{%- if not out %} 1 as nothing{% endif %}
