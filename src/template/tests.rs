use super::*;
use crate::project::SqlFile;

pub(super) fn project(models: &[(&str, &str)], macros: &[(&str, &str)]) -> Project {
    let file = |(p, t): &(&str, &str)| SqlFile {
        name: PathBuf::from(p).file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default(),
        path: PathBuf::from(p),
        folders: vec![],
        text: t.to_string(),
    };
    Project {
        root: PathBuf::from("/p"),
        dir: PathBuf::new(),
        name: "shop".into(),
        profile: None,
        vars: BTreeMap::new(),
        models: models.iter().map(file).collect(),
        seeds: vec![],
        singular_tests: vec![],
        macros: macros.iter().map(file).collect(),
        model_props: BTreeMap::new(),
        versions: Default::default(),
        seed_props: BTreeMap::new(),
        snapshots: Vec::new(),
        snapshot_props: BTreeMap::new(),
        sources: BTreeMap::new(),
        groups: Default::default(),
        exposures: vec![],
        unread: Default::default(),
        tests: vec![],
        unit_tests: vec![],
        fixtures: BTreeMap::new(),
        docs: BTreeMap::new(),
        model_tree: None,
        seed_tree: None,
        snapshot_tree: None,
        dbt_project_text: String::new(),
        test_tree: None,
        unit_test_tree: None,
        exposure_tree: None,
        target_dir: PathBuf::from("/p/target"),
        packages: vec![],
        dispatch: vec![],
        on_run_start: vec![],
        on_run_end: vec![],
        skip_nodes_if_on_run_start_fails: true,
        warnings: vec![],
    }
}

pub(super) fn target() -> Target {
    Target {
        profile_name: "shop".into(),
        name: "dev".into(),
        kind: "duckdb".into(),
        path: PathBuf::from("/p/shop.duckdb"),
        database: "shop".into(),
        schema: "main".into(),
        threads: 1,
        settings: BTreeMap::new(),
        extensions: vec![],
        secrets: vec![],
        external_root: ".".into(),
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vars {
    Vars {
        layers: vec![pairs.iter().map(|(k, v)| (k.to_string(), serde_yaml::Value::String(v.to_string()))).collect()],
    }
}

#[test]
fn resolve_records_refs_sources_and_config() {
    let p = project(&[("models/m.sql", "{{ config(materialized='table', tags=['a']) }}select * from {{ ref('a') }} join {{ ref('pkg', 'b') }} join {{ source('raw', 'ev') }}")], &[]);
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    let rec = t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).expect("resolves");
    assert_eq!(rec.refs[0], "a");
    assert_eq!(rec.refs[1], RefCall { package: Some("pkg".into()), name: "b".into(), version: None });
    assert_eq!(rec.sources, vec![("raw".to_string(), "ev".to_string())]);
    assert_eq!(rec.config.get("materialized"), Some(&serde_yaml::Value::String("table".into())));
}

#[test]
fn resolve_file_takes_builds_pass_once_and_resolves_again_for_another_this() {
    let p = project(
        &[
            ("models/m.sql", "{{ config(alias=this.identifier ~ '_x') }}select * from {{ ref('a') }}"),
            ("models/bad.sql", "{{ ref(undefined_name.attr) }}"),
        ],
        &[],
    );
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    // `build` rendered the file with the planner's placeholder; a render error
    // there is the resolve pass's error, not a syntax error of `build`.
    assert_eq!(lock(&t.resolved).len(), 2);
    let planned = Relation::new("shop", "main", "m");
    let rec = t.resolve_file("models/m.sql", &planned).expect("resolves");
    assert_eq!(rec.refs.iter().map(|r| r.key()).collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(rec.config.get("alias"), Some(&serde_yaml::Value::String("m_x".into())));
    assert!(lock(&t.resolved).get("models/m.sql").is_none(), "taken, not kept for the whole run");
    // Taken already, or another `this`: rendered again, with the same answer shape.
    assert_eq!(t.resolve_file("models/m.sql", &planned), Ok(rec));
    let other = t.resolve_file("models/m.sql", &Relation::new("shop", "main", "n")).expect("resolves");
    assert_eq!(other.config.get("alias"), Some(&serde_yaml::Value::String("n_x".into())));
    let err = t.resolve_file("models/bad.sql", &Relation::new("shop", "main", "bad")).expect_err("fails");
    assert_eq!(err.file.as_deref(), Some(Path::new("models/bad.sql")));
}

#[test]
fn render_resolves_relations_vars_and_macros() {
    let p = project(
        &[("models/m.sql", "select {{ cents('amount') }}, '{{ var('region', 'eu') }}', '{{ var('tier') }}' from {{ ref('a') }} -- {{ this.identifier }} {{ ds }}")],
        &[("macros/money.sql", "{% macro cents(col, scale=100) %}{{ col }} / {{ scale }}{% endmacro %}")],
    );
    let t = Templates::build(
        &p,
        &target(),
        &Env::default(),
        vars(&[("tier", "gold")]),
        &[("ds", Value::from("2025-01-01"))],
    )
    .expect("builds");
    let mut rels = Relations::default();
    rels.by_name.insert("a".into(), Relation::new("shop", "main", "a"));
    let rc = RenderCtx {
        this: Relation::new("shop", "main", "m"),
        relations: Arc::new(rels),
        is_incremental: false,
        config: Default::default(),
        package: None,
        node: None,
    };
    let sql = t.render("models/m.sql", &rc).expect("renders");
    assert_eq!(sql, "select amount / 100, 'eu', 'gold' from \"shop\".\"main\".\"a\" -- m 2025-01-01");
}

#[test]
fn macros_see_the_callers_this_and_call_each_other() {
    let p = project(
        &[("models/m.sql", "{{ outer() }}")],
        &[
            ("macros/a.sql", "{% macro outer() %}[{{ inner() }}]{% endmacro %}"),
            ("macros/b.sql", "{% macro inner() %}{{ this.identifier }}{% endmacro %}"),
        ],
    );
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    let rc = RenderCtx {
        this: Relation::new("shop", "main", "m"),
        relations: Arc::new(Relations::default()),
        is_incremental: false,
        config: Default::default(),
        package: None,
        node: None,
    };
    assert_eq!(t.render("models/m.sql", &rc).expect("renders"), "[m]");
}

#[test]
fn syntax_errors_name_file_and_line() {
    let p = project(&[("models/ok.sql", "select 1"), ("models/bad.sql", "select 1\n{% if %}\n")], &[]);
    let errs = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).err().expect("syntax error");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, Some(PathBuf::from("models/bad.sql")));
    assert_eq!(errs[0].line, Some(2));
    assert!(errs[0].message.starts_with("syntax error"), "{}", errs[0].message);
}

#[test]
fn syntax_errors_of_templates_compiled_on_several_threads_are_all_reported_in_file_order() {
    // Enough files that `par::map` splits them between threads.
    let files: Vec<(String, String)> = (0..100)
        .map(|i| {
            let text = if i == 3 || i == 90 { "select 1\n\n{% for %}\n" } else { "select {{ 1 + 1 }}" };
            (format!("models/m{i:03}.sql"), text.to_string())
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let p = project(&refs, &[]);
    let errs = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).err().expect("syntax errors");
    let at: Vec<(Option<PathBuf>, Option<usize>)> = errs.iter().map(|e| (e.file.clone(), e.line)).collect();
    assert_eq!(
        at,
        [(Some(PathBuf::from("models/m003.sql")), Some(3)), (Some(PathBuf::from("models/m090.sql")), Some(3))]
    );
    // Without the bad files every template compiles and renders.
    let good: Vec<(&str, &str)> = refs.iter().copied().filter(|(_, t)| !t.contains("for")).collect();
    let t = Templates::build(&project(&good, &[]), &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    assert!(t.resolve("models/m099.sql", &Relation::new("shop", "main", "m099")).is_ok());
}

#[test]
fn missing_var_is_an_error_naming_it() {
    let p = project(&[("models/m.sql", "select\n{{ var('nope') }}")], &[]);
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    let d = t.resolve("models/m.sql", &Relation::new("shop", "main", "m")).expect_err("missing var");
    assert!(d.message.contains("`nope`"), "{}", d.message);
    assert_eq!((d.file, d.line), (Some(PathBuf::from("models/m.sql")), Some(2)));
}

#[test]
fn test_arguments_record_refs() {
    let p = project(&[], &[]);
    let t = Templates::build(&p, &target(), &Env::default(), Vars::default(), &[]).expect("builds");
    let (text, rec) = t.eval_arg("ref('customers')", &Relation::new("shop", "main", "x"), None, None).expect("evals");
    assert_eq!(text, "\"shop\".\"main\".\"customers\"");
    assert_eq!(rec.refs, vec!["customers"]);
}
