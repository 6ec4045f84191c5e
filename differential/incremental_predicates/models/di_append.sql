{{ config(incremental_strategy='append', unique_key='id', incremental_predicates=["day >= 2"]) }}
{{ rows() }}
