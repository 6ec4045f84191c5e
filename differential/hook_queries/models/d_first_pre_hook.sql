{# The first in-transaction pre-hook renders before the transaction begins:
   its query stays when the node fails; the second one's is rolled back. #}
{{ config(
    materialized='table',
    pre_hook=[
      "{% do run_query('create or replace table side_before_begin as select 1 as x') %}",
      "insert into audit select coalesce(max(seq), 0) + 1, 'd pre, rolled back' from audit",
      "{% do run_query('create or replace table side_in_transaction as select 1 as x') %}",
    ],
    post_hook="select no_such_function()"
) }}
select 1 as x
