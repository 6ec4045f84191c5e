{{ config(alias='aliased_renamed') }}
select '{{ builtins.config.get('alias') }}' as seen, '{{ local_md5("") }}' as empty_md5
