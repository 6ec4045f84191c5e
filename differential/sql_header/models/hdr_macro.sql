{{ config(materialized='table') }}
{# the block renders while the model is parsed: `execute` is false, `this` the model #}
{% call set_sql_header(config) %}
create temp macro add_hv(x) as x + {{ var('hv') }};
create temp table hdr_seen as select '{{ this }}' as rendered_this, {{ execute }} as rendered_execute;
{% endcall %}
select add_hv(1) as v, rendered_this, rendered_execute from hdr_seen
