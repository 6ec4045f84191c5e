{# a config() string is used as written: its braces are not rendered again #}
{{ config(materialized='table', sql_header="set variable kv = '{{ 1 + 1 }}' || " ~ var('hv') ~ ";") }}
select getvariable('kv') as v
