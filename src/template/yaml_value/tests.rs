//! One YAML value rendered as dbt 1.10 renders it; each expectation is what
//! dbt wrote into its manifest for the same value (`config.meta` probes).

use super::*;
use crate::template::tests::target;
use serde_yaml::Value as Y;

fn jinja() -> YamlJinja {
    let cli = Vars { layers: vec![BTreeMap::from([("cv".to_string(), Y::String("{{ target.name }}_cli".into()))])] };
    YamlJinja::new(&target(), &Env::default(), cli, &[])
}

fn prop(text: &str) -> Result<Y, String> {
    let vars = [BTreeMap::from([("pv".to_string(), Y::String("{{ target.name }}".into()))])];
    jinja().property_value(text, "shop", &vars)
}

fn y(text: &str) -> Y {
    serde_yaml::from_str(text).expect("yaml")
}

fn s(text: &str) -> Y {
    Y::String(text.into())
}

#[test]
fn a_lone_expression_keeps_its_value_unless_it_is_literals_alone() {
    let cases = [
        ("{{ false }}", s("False")),
        ("{{ 3 }}", s("3")),
        ("{{ [1, 2] }}", s("[1, 2]")),
        ("{{ none }}", s("None")),
        ("{{ 1.50 }}", s("1.5")),
        ("{{ 'a' if true else 'b' }}", s("a")),
        ("{{ target.name == 'dev' }}", Y::Bool(true)),
        ("{{ target.threads }}", y("1")),
        ("{{ var('nope', none) }}", Y::Null),
        ("{{ [target.threads, 'a', none, 1.5] }}", y("[1, a, null, 1.5]")),
        ("{{ {'a': target.threads} }}", y("{a: 1}")),
        ("{{- target.threads -}}", y("1")),
        ("{# note #}{{ target.threads }}", y("1")),
        ("{% if target.name == 'dev' %}{{ target.threads }}{% endif %}", y("1")),
        ("{% if true %}True{% endif %}", s("True")),
        ("{{ env_var('RUNNER_T_YV_UNSET', '5') }}", s("5")),
        ("{{ fromjson('{\"a\": 1}') }}", y("{a: 1}")),
        ("{{ tojson({'a': 1}) }}", s("{\"a\": 1}")),
    ];
    for (text, want) in cases {
        assert_eq!(prop(text), Ok(want), "{text}");
    }
}

#[test]
fn several_pieces_are_joined_as_python_prints_them() {
    assert_eq!(prop("{{ 1 }}{{ 2 }}"), Ok(s("12")));
    assert_eq!(prop(" {{ target.threads }}"), Ok(s(" 1")));
    assert_eq!(prop("x{{ target.name == 'dev' }}"), Ok(s("xTrue")));
    assert_eq!(prop("x{{ none }}{{ target.threads }}"), Ok(s("xNone1")));
    assert_eq!(prop("x{{ [target.threads, 'a'] }}"), Ok(s("x[1, 'a']")));
    assert_eq!(prop("x{{ nope }}"), Ok(s("x")));
    assert_eq!(prop("{% for i in [1, 2] %}{{ i }}{% endfor %}"), Ok(s("12")));
    assert_eq!(prop("{% set x %}{{ target.threads }}{% endset %}{{ x }}"), Ok(s("1")));
}

#[test]
fn marker_filters_are_read_as_python_literals() {
    assert_eq!(prop("{{ 'False' | as_bool }}"), Ok(Y::Bool(false)));
    assert_eq!(prop("{{ env_var('RUNNER_T_YV_UNSET', 'True') | as_bool }}"), Ok(Y::Bool(true)));
    assert_eq!(prop("{{ (target.name == 'dev') | as_bool }}"), Ok(Y::Bool(true)));
    assert_eq!(prop("{{ '7' | as_number }}"), Ok(y("7")));
    assert_eq!(prop("{{ '[1, 2]' | as_native }}"), Ok(y("[1, 2]")));
    assert_eq!(prop("{{ 'x y' | as_native }}"), Ok(s("x y")));
    assert_eq!(prop("{{ target.threads | as_text }}"), Ok(s("1")));
    for text in ["{{ 'false' | as_bool }}", "{{ 'true' | as_bool }}", "{{ '1' | as_bool }}"] {
        let e = prop(text).expect_err(text);
        assert!(e.contains("into type `bool`"), "{e}");
    }
    assert!(prop("{{ 'x' | as_number }}").is_err_and(|e| e.contains("into type `number`")));
    // Text around a marker makes the value text, checked by nobody.
    assert_eq!(prop("a{{ 'false' | as_bool }}"), Ok(s("afalse")));
}

#[test]
fn what_dbt_cannot_render_is_an_error() {
    for text in [
        "{{ nope }}",
        "{{ nope.attr }}",
        "{{ ref('m') }}",
        "{{ var('missing') }}",
        "{{ env_var('RUNNER_T_YV_UNSET') }}",
    ] {
        assert!(prop(text).is_err(), "{text}");
    }
    assert!(prop("{{ this }}").is_err(), "no `this` while parsing");
}

#[test]
fn var_sees_the_files_own_vars() {
    let j = jinja();
    // A property file reads a var as written; dbt_project.yml renders it.
    assert_eq!(prop("{{ var('pv') }}"), Ok(s("{{ target.name }}")));
    assert_eq!(prop("{{ var('cv') }}"), Ok(s("{{ target.name }}_cli")));
    assert_eq!(prop("{{ project_name }}"), Ok(s("shop")));
    assert_eq!(j.project_value("{{ var('cv') }}", true), Ok(s("dev_cli")));
    assert!(j.project_value("{{ var('pv') }}", true).is_err(), "dbt_project.yml sees no project vars");
    // A package's dbt_project.yml sees no --vars either.
    assert_eq!(j.project_value("{{ var('cv', 'none') }}", false), Ok(s("none")));
}

#[test]
fn without_a_profile_target_is_empty_and_vars_are_not_required() {
    // As `dbt deps` renders dbt_project.yml.
    let j = YamlJinja::without_profile(&Env::default(), Vars::default());
    assert_eq!(j.project_value("x{{ target.name }}", true), Ok(s("x")));
    assert_eq!(j.project_value("{{ var('missing') }}", true), Ok(Y::Null));
    assert_eq!(j.project_value("plain", true), Ok(s("plain")));
}

#[test]
fn builtins_and_thread_id_are_there_as_in_dbts_yaml_contexts() {
    // dbt 1.10: `+tags: ["{{ builtins.var('t', 'deflt') }}", "{{ thread_id }}"]` gave `deflt`, `MainThread`.
    let j = jinja();
    assert_eq!(j.project_value("{{ builtins.var('t', 'deflt') }}", true), Ok(s("deflt")));
    assert_eq!(j.project_value("{{ builtins.var('cv') }}", true), Ok(s("dev_cli")));
    assert_eq!(j.project_value("{{ builtins.target.name }}-{{ thread_id }}", true), Ok(s("dev-MainThread")));
    assert_eq!(prop("{{ builtins.project_name }}"), Ok(s("shop")));
}
