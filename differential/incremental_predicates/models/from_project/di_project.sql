{{ config(unique_key='id') }}
{{ rows() }}
