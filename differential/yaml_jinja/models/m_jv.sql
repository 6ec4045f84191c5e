select '{{ var("jv") }}' as x
