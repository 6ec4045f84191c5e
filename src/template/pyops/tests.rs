//! The rewrite of date arithmetic into calls: what it touches and what it leaves alone.

use super::rewrite_datetime_arithmetic as rw;

#[test]
fn binary_operators_become_calls_left_associative() {
    assert_eq!(rw("{{ run_started_at - d }}"), "{{ __py_sub(run_started_at, d) }}");
    assert_eq!(rw("{{ run_started_at - a + b }}"), "{{ __py_add(__py_sub(run_started_at, a), b) }}");
    assert_eq!(rw("{{ run_started_at + b * 2 }}"), "{{ __py_add(run_started_at, __py_mul(b, 2)) }}");
    assert_eq!(
        rw("{{ d / 2 // 3 % 4 ** 5 - run_started_at }}"),
        "{{ __py_sub(__py_floordiv(__py_div(d, 2), 3) % 4 ** 5, run_started_at) }}"
    );
}

#[test]
fn operands_follow_minijinja_precedence() {
    // Filters and postfixes bind tighter than `-`; `~` too; comparisons, `and`, `if` looser.
    assert_eq!(rw("{{ run_started_at.day | default(1) - 1 }}"), "{{ __py_sub(run_started_at.day | default(1), 1) }}");
    assert_eq!(rw("{{ 'x' ~ run_started_at - d }}"), "{{ __py_sub('x' ~ run_started_at, d) }}");
    assert_eq!(
        rw("{% if (run_started_at - d).days > 2 - 1 and x %}"),
        "{% if (__py_sub(run_started_at, d)).days > __py_sub(2, 1) and x %}"
    );
    assert_eq!(
        rw("{{ a - b if run_started_at else c + d }}"),
        "{{ __py_sub(a, b) if run_started_at else __py_add(c, d) }}"
    );
    assert_eq!(rw("{{ run_started_at - x is defined }}"), "{{ __py_sub(run_started_at, x is defined) }}");
    assert_eq!(rw("{{ not run_started_at - x }}"), "{{ not __py_sub(run_started_at, x) }}");
}

#[test]
fn unary_minus_and_negative_literals() {
    assert_eq!(rw("{{ run_started_at - -td }}"), "{{ __py_sub(run_started_at, __py_neg(td)) }}");
    assert_eq!(rw("{{ run_started_at.day * -1 }}"), "{{ __py_mul(run_started_at.day, -1) }}");
    assert_eq!(rw("{{ -td.days + run_started_at }}"), "{{ __py_add(__py_neg(td.days), run_started_at) }}");
    assert_eq!(rw("{{ run_started_at.day - -1.5 }}"), "{{ __py_sub(run_started_at.day, -1.5) }}");
}

#[test]
fn calls_brackets_and_statement_tags() {
    assert_eq!(rw("{{ foo(run_started_at - b, c) }}"), "{{ foo(__py_sub(run_started_at, b), c) }}");
    assert_eq!(rw("{{ f(days=n - 1, x=run_started_at) }}"), "{{ f(days=__py_sub(n, 1), x=run_started_at) }}");
    assert_eq!(rw("{% set d = run_started_at - x %}"), "{% set d = __py_sub(run_started_at, x) %}");
    assert_eq!(rw("{%- set a, b = run_started_at - x, y -%}"), "{%- set a, b = __py_sub(run_started_at, x), y -%}");
    assert_eq!(rw("{% macro f(x=-1, d=run_started_at - y) %}"), "{% macro f(x=-1, d=__py_sub(run_started_at, y)) %}");
    assert_eq!(rw("{% elif -x > run_started_at %}"), "{% elif __py_neg(x) > run_started_at %}");
    assert_eq!(
        rw("{{ {'a': {'b': run_started_at - x}}['a'] }}"),
        "{{ {'a': {'b': __py_sub(run_started_at, x)}}['a'] }}"
    );
    assert_eq!(rw("{{- run_started_at - x -}}"), "{{- __py_sub(run_started_at, x) -}}");
    assert_eq!(rw("{{ s[1:-1] ~ run_started_at }}"), "{{ s[1:-1] ~ run_started_at }}");
}

#[test]
fn strings_comments_raw_blocks_and_sql_stay_as_written() {
    let untouched = [
        "{{ run_started_at.strftime('%Y-%m-%d') }}",
        "{{ run_started_at ~ ' - ' ~ \"a - b\" }}",
        "{# run_started_at - x #}",
        "{% raw %}{{ run_started_at - x }}{% endraw %}",
        "{%- raw -%} {{ run_started_at - x }} {%- endraw -%}",
        "select a - b, run_started_at - 1 from t",
        "{{ 1 - 2 }}{% set n = loop.index - 1 %}{{ 'a' + 'b' }}",
        "{{ run_started_at - }}",
        "{{ x + run_started_at ) }}",
    ];
    for t in untouched {
        assert_eq!(rw(t), t);
    }
    assert_eq!(
        rw("select a - b {# x - y #}{% raw %}{{ a - run_started_at }}{% endraw %} {{ run_started_at - 'a-b' }}"),
        "select a - b {# x - y #}{% raw %}{{ a - run_started_at }}{% endraw %} {{ __py_sub(run_started_at, 'a-b') }}"
    );
    assert_eq!(rw("{{ '}}' ~ run_started_at - x }}"), "{{ __py_sub('}}' ~ run_started_at, x) }}");
}

#[test]
fn newlines_are_kept() {
    let src = "{{ run_started_at\n  -\n  x }}\n{% set y = (run_started_at\n + d) %}";
    let out = rw(src);
    assert_eq!(out, "{{ __py_sub(run_started_at,\n\n  x) }}\n{% set y = (__py_add(run_started_at,\n d)) %}");
    assert_eq!(out.matches('\n').count(), src.matches('\n').count());
}

#[test]
fn names_set_from_date_values_are_followed() {
    let src = "{% set s = run_started_at %}{% set e = s %}{% for t in [e] %}{{ t - s }}{% endfor %}{{ a - b }}";
    assert_eq!(
        rw(src),
        "{% set s = run_started_at %}{% set e = s %}{% for t in [e] %}{{ __py_sub(t, s) }}{% endfor %}{{ a - b }}"
    );
}
