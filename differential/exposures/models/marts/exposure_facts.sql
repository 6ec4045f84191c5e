{{ config(materialized='table') }}
{%- set rows = [] -%}
{%- if execute -%}
{%- for e in graph.exposures.values() | sort(attribute='unique_id') -%}
{%- do rows.append("select '" ~ e.unique_id ~ "' as id, '" ~ e.type ~ "' as type, '" ~ (e.owner.email | string | replace("'", '') | replace('"', '')) ~ "' as email, '"
    ~ (e.depends_on.nodes | join(' ')) ~ "' as parents, '" ~ (e.tags | join(' ')) ~ "' as tags, '"
    ~ (e.meta | dictsort | map('join', '=') | join(' ')) ~ "' as meta, '" ~ (e.fqn | join('.')) ~ "' as fqn, '"
    ~ (e.label or '') ~ "' as label, '" ~ (e.maturity or '') ~ "' as maturity, '" ~ e.description ~ "' as description") -%}
{%- endfor -%}
{%- endif -%}
{{ rows | join(' union all ') if rows else "select 'none' as id" }}
