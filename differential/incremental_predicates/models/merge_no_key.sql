{# no key: nothing matches, every row is inserted #}
{{ config(incremental_strategy='merge_p', incremental_predicates=["DBT_INTERNAL_DEST.day >= 2"]) }}
{{ rows() }}
