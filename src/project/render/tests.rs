//! Which values render, by dbt-core 1.10's key-path rules, with a renderer
//! that marks what it was given (`R(…)`) and fails on `boom`.

use super::*;
use crate::config::dbt_project::RawDbtProject;
use crate::config::properties::RawProperties;

struct Mark;

impl Render for Mark {
    fn project_value(&self, text: &str, root: bool) -> Result<Value, String> {
        self.out(text, if root { "R" } else { "P" })
    }

    fn property_value(&self, text: &str, project: &str, vars: &[BTreeMap<String, Value>]) -> Result<Value, String> {
        let v = vars.first().and_then(|l| l.get("v")).and_then(Value::as_str).unwrap_or("-");
        self.out(text, &format!("{project}:{v}"))
    }
}

impl Mark {
    fn out(&self, text: &str, tag: &str) -> Result<Value, String> {
        match text {
            t if t.contains("boom") => Err("it went boom".into()),
            t if t.contains("yes") => Ok(Value::Bool(true)),
            t if t.contains("text") => Ok(Value::String("True".into())),
            t => Ok(Value::String(format!("{tag}({t})"))),
        }
    }
}

fn project(text: &str) -> Result<Value, Vec<String>> {
    let out = dbt_project::<Value>(text, Path::new("dbt_project.yml"), Some(&Mark), true);
    out.map_err(|e| e.iter().map(ToString::to_string).collect())
}

fn props(text: &str) -> Result<Value, Vec<String>> {
    let vars = [BTreeMap::from([("v".to_string(), Value::String("1".into()))])];
    let p = Properties { render: &Mark, project: "shop", vars: &vars };
    properties::<Value>(text, Path::new("models/schema.yml"), Some(p))
        .map_err(|e| e.iter().map(ToString::to_string).collect())
}

fn at<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[*k],
    })
}

#[test]
fn dbt_project_renders_all_but_vars_run_hooks_query_comment_and_node_hooks() {
    let v = project(
        "name: '{{ n }}'\nmodel-paths: ['{{ p }}']\nvars: {a: '{{ v }}'}\non-run-start: ['{{ h }}']\n\
         query-comment: '{{ q }}'\ndispatch: [{macro_namespace: '{{ d }}', search_order: [x]}]\n\
         models:\n  shop:\n    +schema: '{{ s }}'\n    +post-hook: '{{ h }}'\n    sub:\n      pre_hook: ['{{ h }}']\n\
         unit_tests:\n  +meta: {a: '{{ m }}'}\n",
    )
    .expect("renders");
    assert_eq!(v["name"], Value::String("R({{ n }})".into()));
    assert_eq!(at(&v, &["model-paths", "0"]), &Value::String("R({{ p }})".into()));
    assert_eq!(at(&v, &["dispatch", "0", "macro_namespace"]), &Value::String("R({{ d }})".into()));
    assert_eq!(at(&v, &["models", "shop", "+schema"]), &Value::String("R({{ s }})".into()));
    assert_eq!(at(&v, &["unit_tests", "+meta", "a"]), &Value::String("R({{ m }})".into()));
    for kept in [&["vars", "a"][..], &["on-run-start", "0"], &["query-comment"], &["models", "shop", "+post-hook"]] {
        assert!(at(&v, kept).as_str().is_some_and(|s| s.starts_with("{{")), "{kept:?}");
    }
    assert!(at(&v, &["models", "shop", "sub", "pre_hook", "0"]).as_str().is_some_and(|s| s.starts_with("{{")));
}

#[test]
fn a_packages_project_file_renders_as_a_package() {
    let v = dbt_project::<Value>("name: '{{ n }}'\n", Path::new("p/dbt_project.yml"), Some(&Mark), false).expect("ok");
    assert_eq!(v["name"], Value::String("P({{ n }})".into()));
}

#[test]
fn jinja_in_flags_and_enabled_that_is_not_a_boolean_are_errors_with_key_and_line() {
    let e = project("name: shop\nflags:\n  send_anonymous_usage_stats: '{{ x }}'\n").expect_err("flags");
    assert!(e[0].contains("dbt_project.yml:3") && e[0].contains("`flags.send_anonymous_usage_stats`"), "{e:?}");
    let e = project("models:\n  shop:\n    +enabled: '{{ text }}'\n").expect_err("text");
    assert!(e[0].contains(":3") && e[0].contains("`models.shop.+enabled` renders to `True` (text)"), "{e:?}");
    let e = project("models:\n  shop:\n    a:\n      enabled: 'false'\n").expect_err("quoted");
    assert!(e[0].contains("`models.shop.a.enabled` is `false` (text), not a boolean"), "{e:?}");
    assert!(project("models:\n  shop:\n    +enabled: '{{ yes }}'\n    b: {enabled: false}\n").is_ok());
    let e = project("models:\n  shop:\n    +alias: '{{ boom }}'\n").expect_err("boom");
    assert!(e[0].contains(":3") && e[0].contains("`models.shop.+alias` cannot render: it went boom"), "{e:?}");
}

#[test]
fn property_files_render_all_but_descriptions_tests_and_late_keys() {
    let v = props(
        "version: 2\nmodels:\n  - name: '{{ n }}'\n    description: '{{ d }}'\n    meta: {a: '{{ m }}'}\n\
         \n    config: {alias: '{{ a }}', pre_hook: '{{ h }}', pre-hook: '{{ h2 }}'}\n\
         \n    data_tests: [{unique: {config: {where: '{{ w }}'}}}]\n\
         \n    columns:\n      - name: id\n        data_type: '{{ t }}'\n        description: '{{ d }}'\n\
         \n        data_tests: [{not_null: {config: {where: '{{ w }}'}}}]\n\
         \n    versions:\n      - v: 1\n        description: '{{ vd }}'\n        data_tests: ['{{ vt }}']\n\
         \n        columns: [{name: x, description: '{{ d }}'}]\n\
         sources:\n  - name: s\n    description: '{{ d }}'\n    schema: '{{ sc }}'\n    loaded_at_query: '{{ q }}'\n\
         \n    tables:\n      - name: t\n        identifier: '{{ i }}'\n        description: '{{ d }}'\n\
         \n        data_tests: ['{{ tt }}']\n        columns: [{name: c, description: '{{ d }}', data_type: '{{ t }}'}]\n\
         unit_tests:\n  - name: u\n    model: m\n    description: '{{ d }}'\n    given: [{input: '{{ i }}', rows: [{a: '{{ r }}'}]}]\n\
         metrics:\n  - name: k\n    filter: '{{ f }}'\n    label: '{{ l }}'\n",
    )
    .expect("renders");
    let rendered = |path: &[&str]| at(&v, path).as_str().is_some_and(|s| s.starts_with("shop:1("));
    let m = ["models", "0"];
    for path in [
        &["name"][..],
        &["meta", "a"],
        &["config", "alias"],
        &["config", "pre-hook"],
        &["columns", "0", "data_type"],
        &["versions", "0", "description"],
        &["versions", "0", "data_tests", "0"],
    ] {
        assert!(rendered(&[&m[..], path].concat()), "{path:?} renders");
    }
    for path in [
        &["description"][..],
        &["config", "pre_hook"],
        &["data_tests", "0", "unique", "config", "where"],
        &["columns", "0", "description"],
        &["columns", "0", "data_tests", "0", "not_null", "config", "where"],
        &["versions", "0", "columns", "0", "description"],
    ] {
        assert!(!rendered(&[&m[..], path].concat()), "{path:?} waits");
    }
    let s = ["sources", "0"];
    for path in [&["schema"][..], &["tables", "0", "identifier"], &["tables", "0", "columns", "0", "data_type"]] {
        assert!(rendered(&[&s[..], path].concat()), "{path:?} renders");
    }
    for path in [
        &["description"][..],
        &["loaded_at_query"],
        &["tables", "0", "description"],
        &["tables", "0", "data_tests", "0"],
        &["tables", "0", "columns", "0", "description"],
    ] {
        assert!(!rendered(&[&s[..], path].concat()), "{path:?} waits");
    }
    assert!(rendered(&["unit_tests", "0", "given", "0", "input"]));
    assert!(rendered(&["unit_tests", "0", "given", "0", "rows", "0", "a"]));
    assert!(!rendered(&["unit_tests", "0", "description"]));
    assert!(rendered(&["metrics", "0", "label"]) && !rendered(&["metrics", "0", "filter"]));
}

#[test]
fn property_errors_name_the_entry_key_and_line() {
    let e = props("version: 2\nmodels:\n  - name: m\n    config:\n      alias: '{{ boom }}'\n").expect_err("boom");
    assert!(e[0].contains("schema.yml:5") && e[0].contains("`models.m.config.alias` cannot render"), "{e:?}");
    let e = props("version: 2\nmodels:\n  - name: m\n    config:\n      enabled: '{{ text }}'\n").expect_err("text");
    assert!(e[0].contains("`models.m.config.enabled` renders to `True` (text), not a boolean"), "{e:?}");
    // A test's `enabled` is the test builder's to render and check.
    assert!(
        props("version: 2\nmodels:\n  - name: m\n    data_tests: [{unique: {config: {enabled: '{{ x }}'}}}]\n").is_ok()
    );
}

#[test]
fn a_rendered_value_of_the_wrong_type_is_named() {
    let vars = [BTreeMap::new()];
    let p = Properties { render: &Mark, project: "shop", vars: &vars };
    let text = "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: c\n        quote: '{{ text }}'\n";
    let e = properties::<RawProperties>(text, Path::new("models/schema.yml"), Some(p)).expect_err("a string");
    assert!(e[0].to_string().contains("`models.m.columns.c.quote` renders to 'True'"), "{e:?}");
    let ok = dbt_project::<RawDbtProject>("name: shop\n", Path::new("dbt_project.yml"), Some(&Mark), true);
    assert_eq!(ok.expect("typed").name.as_deref(), Some("shop"));
}

#[test]
fn test_configs_render_their_top_level_strings() {
    let vars = [BTreeMap::new()];
    let p = Properties { render: &Mark, project: "shop", vars: &vars };
    let mut cfg: BTreeMap<String, Value> =
        serde_yaml::from_str("where: '{{ w }}'\ntags: ['{{ t }}']\nenabled: '{{ text }}'\n").expect("yaml");
    let e = test_config(&mut cfg, "m.unique", Path::new("models/schema.yml"), "", p);
    assert_eq!(cfg["where"], Value::String("shop:-({{ w }})".into()));
    assert_eq!(cfg["tags"][0], Value::String("{{ t }}".into()), "nested values stay as written");
    assert!(e[0].to_string().contains("`m.unique.enabled` renders to `True` (text), not a boolean"), "{e:?}");
}

#[test]
fn property_vars_are_layered_as_dbt_layers_them() {
    let root: BTreeMap<String, Value> = serde_yaml::from_str("a: root\npkg: {a: root_for_pkg}\n").expect("yaml");
    let own: BTreeMap<String, Value> = serde_yaml::from_str("a: own\nb: own\npkg: {b: own_scoped}\n").expect("yaml");
    let layers = property_vars(&root, "pkg", Some(&own));
    let get = |k: &str| layers.iter().find_map(|l| l.get(k)).and_then(Value::as_str);
    assert_eq!((get("a"), get("b")), (Some("root_for_pkg"), Some("own_scoped")));
    assert_eq!(property_vars(&root, "shop", None).len(), 2);
}
