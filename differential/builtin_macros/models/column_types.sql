{{ config(materialized='view') }}
-- depends_on: {{ ref('dates') }} {{ ref('strings') }} {{ ref('aggregates') }} {{ ref('spine') }} {{ ref('sets') }}
select table_name, column_name, data_type
from information_schema.columns
where table_schema = 'main'
  and table_name in ('dates', 'strings', 'aggregates', 'spine', 'sets')
