{{ config(incremental_strategy='merge_p', unique_key=['id', 'day'], merge_exclude_columns=['day'],
          incremental_predicates=["DBT_INTERNAL_SOURCE.day <> 3", "DBT_INTERNAL_DEST.v like '_1'"]) }}
{{ rows() }}
