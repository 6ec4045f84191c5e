{{ config(incremental_strategy='delete_p', unique_key='id', incremental_predicates=["day >= 3"]) }}
{{ rows() }}
