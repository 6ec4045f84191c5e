select '{{ shout("hi") }}' as x
