{# dbt-duckdb's delete with a string key has no alias: this fails on the second run #}
{{ config(unique_key='id', incremental_predicates=["DBT_INTERNAL_DEST.day >= 2"]) }}
{{ rows() }}
