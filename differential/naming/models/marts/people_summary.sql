select count(*) as n, '{{ this.schema }}.{{ this.identifier }}' as here from {{ ref('stg_people') }}
