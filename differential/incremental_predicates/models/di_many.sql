{# a list key: inside the `where (...)`, where dbt-duckdb names the target DBT_INCREMENTAL_TARGET #}
{{ config(unique_key=['id'], incremental_predicates=["DBT_INCREMENTAL_TARGET.day >= 3", "DBT_INCREMENTAL_TARGET.v <> 'zz'"]) }}
{{ rows() }}
