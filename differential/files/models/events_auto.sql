{{ config(materialized='table') }}
-- read_json's own schema detection: a struct column and a list
select id, "user".name as user_name, amount, len(tags) as tags from read_json_auto('data/events.ndjson')
