{{ config(materialized='incremental', unique_key='id',
          post_hook="insert into audit select coalesce(max(seq), 0) + 1, 'incremental post {% if is_incremental() %}incremental{% else %}first{% endif %} ' || (select count(*) from {{ this }}) from audit") }}
select id, amount * 2 as doubled from {{ ref('stg_orders') }}
