{{ config(
    pre_hook=before_begin("insert into audit select coalesce(max(seq), 0) + 1, 'config before_begin " ~ this.name ~ "' from audit"),
    post_hook=["insert into audit select coalesce(max(seq), 0) + 1, 'config post {{ this.name }}' from audit",
               after_commit("insert into audit select coalesce(max(seq), 0) + 1, 'config after_commit' from audit")]
) }}
select id, amount from {{ ref('raw_orders') }}
