{{ config(incremental_strategy='echo') }}
{{ rows() }}
