{{ config(materialized='table') }}
select
  grp,
  {{ listagg('name', "'|'", 'order by name') }} as names,
  {{ listagg('cast(id as varchar)', "', '", 'order by id desc', 1) }} as top_id,
  {{ listagg('name') }} is not null as any_names,
  {{ any_value('grp') }} as any_grp,
  {{ bool_or('flag') }} as some_flag,
  {{ array_construct(['1', '2']) }} as arr,
  {{ array_append(array_construct(['1', '2']), '3') }} as appended,
  {{ array_concat(array_construct(['1']), array_construct(['4', '5'])) }} as concatenated,
  {{ array_construct([], type_string()) }} as empty_text_array
from {{ ref('events') }}
group by grp
