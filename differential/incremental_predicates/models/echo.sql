{{ config(incremental_strategy='echo', incremental_predicates=["day >= 2", "v is not null"]) }}
{{ rows() }}
