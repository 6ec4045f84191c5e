{{ config(materialized='incremental', on_schema_change='append_new_columns') }}
select {{ var('event', 1) }} as event_id, 'event {{ var("event", 1) }}' as label
