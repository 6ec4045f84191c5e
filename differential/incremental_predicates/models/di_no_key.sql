{# no key, no delete: the predicates are not used #}
{{ config(incremental_predicates=["day >= 2"]) }}
{{ rows() }}
