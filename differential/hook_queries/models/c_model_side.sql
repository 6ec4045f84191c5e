{# What the model's query did is not undone when its post-hook fails. #}
{{ config(materialized='table', post_hook="select no_such_function()") }}
{% if execute %}{% do run_query("create or replace table side_from_model as select 1 as x") %}{% endif %}
select 1 as x
