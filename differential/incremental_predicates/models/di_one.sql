{# a string key: the predicates follow `(id) in (...)`; id 1 (day 1) is kept twice #}
{{ config(unique_key='id', incremental_predicates=["day >= 2"]) }}
{{ rows() }}
