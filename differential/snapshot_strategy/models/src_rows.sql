{{ config(materialized='view') }}
{#- Day 1: ids 1-4 at version 1. Day 2: 2 paid (version 2), 3 renamed in
    place (same version), 4 deleted, 5 new. Day 3: 1 deleted, 3 void
    (version 2), 4 back (version 3), 5 paid (version 2). -#}
{%- set day = var('day') | int %}
select * from (values
  (1, 'ann', 'new', 1, timestamp '2024-01-01 00:00:00')
  {%- if day == 1 %}
  , (2, 'bob', 'new', 1, timestamp '2024-01-01 00:00:00')
  , (3, 'cy', 'new', 1, timestamp '2024-01-01 00:00:00')
  , (4, 'dee', 'new', 1, timestamp '2024-01-01 00:00:00')
  {%- elif day == 2 %}
  , (2, 'bob', 'paid', 2, timestamp '2024-01-02 00:00:00')
  , (3, 'CY', 'new', 1, timestamp '2024-01-01 00:00:00')
  , (5, 'eve', 'new', 1, timestamp '2024-01-02 00:00:00')
  {%- else %}
  , (2, 'bob', 'paid', 2, timestamp '2024-01-02 00:00:00')
  , (3, 'CY', 'void', 2, timestamp '2024-01-03 00:00:00')
  , (4, 'dee', 'back', 3, timestamp '2024-01-03 00:00:00')
  , (5, 'eve', 'paid', 2, timestamp '2024-01-03 00:00:00')
  {%- endif %}
) as t(id, name, status, version, updated_at)
where not ({{ day }} = 3 and id = 1)
