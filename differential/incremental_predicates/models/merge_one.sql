{# only target rows of day 2 and later can match; id 1 is inserted again #}
{{ config(incremental_strategy='merge_p', unique_key='id', incremental_predicates=["DBT_INTERNAL_DEST.day >= 2"]) }}
{{ rows() }}
