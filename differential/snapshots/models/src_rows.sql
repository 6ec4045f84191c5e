{{ config(materialized='view') }}
{#- Day 1: ids 1-4. Day 2: 2 updated (updated_at moves), 3 changed in place
    (same updated_at), 4 deleted, 5 new. Day 3: 1 deleted, 4 back, 5 updated.
    Day 2 again after day 3: 1 back, 4 deleted again, 5 as on day 2 (older
    updated_at, other status). Day 4: day 2's rows with a new column. -#}
{%- set day = var('day') | int %}
select *{% if day == 4 %}, upper(name) as shout{% endif %} from (values
  (1, 'eu', 'ann', 'new', timestamp '2024-01-01 00:00:00')
  {%- if day == 1 %}
  , (2, 'eu', 'bob', 'new', timestamp '2024-01-01 00:00:00')
  , (3, 'us', 'cy', 'new', timestamp '2024-01-01 00:00:00')
  , (4, 'us', 'dee', 'new', timestamp '2024-01-01 00:00:00')
  {%- else %}
  , (2, 'eu', 'bob', 'paid', timestamp '2024-01-02 00:00:00')
  , (3, 'us', 'cy', 'void', timestamp '2024-01-01 00:00:00')
  {%- if day == 3 %}
  , (5, 'us', 'eve', 'paid', timestamp '2024-01-03 00:00:00')
  , (4, 'us', 'dee', 'back', timestamp '2024-01-03 00:00:00')
  {%- else %}
  , (5, 'us', 'eve', 'new', timestamp '2024-01-02 00:00:00')
  {%- endif %}
  {%- endif %}
) as t(id, region, name, status, updated_at)
where not ({{ day }} = 3 and id = 1)
