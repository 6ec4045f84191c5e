{{ config(materialized='table') }}
-- JSON read from a file and taken apart with ->>, -> and json_extract
select
    json ->> '$.id' as id,
    json ->> '$.user.name' as user_name,
    json -> '$.user' ->> 'tier' as tier,
    json_extract(json, '$.amount')::integer as amount,
    json_array_length(json -> '$.tags') as tag_count,
    json_extract_string(json, '$.tags[0]') as first_tag
from read_ndjson_objects('data/events.ndjson')
