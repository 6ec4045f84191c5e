use super::*;
use crate::project::profile::Target;
use crate::project::{self, env::Env};
use crate::template::{Templates, Vars};
use std::collections::BTreeMap;
use std::path::Path;

fn target(root: &Path) -> Target {
    Target {
        profile_name: "p".into(),
        name: "dev".into(),
        kind: "duckdb".into(),
        path: root.join("wh.duckdb"),
        database: "wh".into(),
        schema: "main".into(),
        threads: 1,
        settings: BTreeMap::new(),
        extensions: Vec::new(),
        secrets: Vec::new(),
        external_root: ".".into(),
    }
}

/// Plans a project of `files`; the plan, or every load error.
fn plan(files: &[(&str, &str)]) -> Result<crate::nodes::Plan, Vec<Diagnostic>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    for (rel, text) in files {
        let p = r.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let project = project::load(r)?;
    let target = target(r);
    let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[])?;
    crate::nodes::plan(&project, &target, &templates)
}

const PROJECT: &str =
    "name: p\nprofile: p\nsnapshots:\n  p:\n    +unique_key: id\n    hist:\n      +strategy: timestamp\n";

#[test]
fn blocks_and_yaml_snapshots_become_nodes_with_dbts_ids_and_fqns() {
    let plan = plan(&[
        ("dbt_project.yml", PROJECT),
        ("models/src.sql", "select 1 as id, now() as u"),
        (
            "snapshots/hist.sql",
            "{% snapshot a %}\n{{ config(updated_at='u') }}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n\
             {% snapshot b %}{{ config(strategy='check', check_cols='all', target_schema='snaps') }}select * from {{ ref('a') }}{% endsnapshot %}",
        ),
        (
            "snapshots/props.yml",
            "snapshots:\n  - name: c\n    relation: ref('src')\n    config: {strategy: timestamp, updated_at: u, hard_deletes: new_record}\n",
        ),
    ])
    .expect("plans");
    let node = |name: &str| plan.nodes.iter().find(|n| n.name == name).expect(name);
    let (a, b, c) = (node("a"), node("b"), node("c"));
    assert_eq!(a.id, "snapshot.p.a");
    assert_eq!(a.fqn(), vec!["p", "hist", "a"]);
    assert_eq!(c.fqn(), vec!["p", "c"]);
    assert!(a.depends_on.contains("model.p.src") && b.depends_on.contains("snapshot.p.a"));
    assert_eq!(b.relation.as_ref().map(|r| r.schema.as_str()), Some("snaps"));
    match (&a.kind, &c.kind) {
        (NodeKind::Snapshot { snapshot: sa, .. }, NodeKind::Snapshot { snapshot: sc, template }) => {
            assert_eq!(sa.strategy, Strategy::Timestamp { updated_at: "u".into() });
            assert_eq!(sc.hard_deletes, HardDeletes::NewRecord);
            assert_eq!(template, "snapshots/props.yml#c");
        }
        other => panic!("not snapshots: {other:?}"),
    }
    assert_eq!(a.config.get("materialized").and_then(Value::as_str), Some("snapshot"));
}

#[test]
fn bad_configs_name_the_file_and_line() {
    let errors = plan(&[
        ("dbt_project.yml", PROJECT),
        ("models/src.sql", "select 1 as id"),
        (
            "snapshots/hist.sql",
            "{% snapshot no_updated_at %}\nselect * from {{ ref('src') }}\n{% endsnapshot %}\n\n\
             {% snapshot odd %}\n{{ config(\n  strategy='newest',\n  check_cols=5,\n) }}\nselect 1 as id\n{% endsnapshot %}\n",
        ),
        ("snapshots/other.sql", "{% snapshot keyless %}\n{{ config(unique_key=none) }}select 1{% endsnapshot %}"),
    ])
    .expect_err("refused");
    let shown: Vec<(String, Option<usize>, bool)> = errors
        .iter()
        .map(|d| (d.file.as_ref().map(|f| f.display().to_string()).unwrap_or_default(), d.line, d.hint.is_some()))
        .collect();
    assert!(shown.contains(&("snapshots/hist.sql".into(), Some(1), true)), "{errors:?}");
    assert!(shown.contains(&("snapshots/hist.sql".into(), Some(8), false)), "{errors:?}");
    assert!(shown.contains(&("snapshots/other.sql".into(), Some(1), true)), "{errors:?}");
    assert!(errors.iter().any(|d| d.message.contains("must specify an updated_at")), "{errors:?}");
    // A custom strategy is not refused, but a value of the wrong type still is.
    assert!(errors.iter().any(|d| d.message.contains("snapshot `odd`: Invalid value for 'check_cols'")), "{errors:?}");
}

#[test]
fn a_bad_value_from_the_project_tree_points_at_its_line() {
    let project = "name: p\nprofile: p\nvars:\n  hard_deletes: x\nsnapshots:\n  p:\n    +unique_key: id\n    +strategy: newest\n    +hard_deletes: sometimes\n";
    let errors =
        plan(&[("dbt_project.yml", project), ("snapshots/s.sql", "{% snapshot s %}select 1 as id{% endsnapshot %}")])
            .expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file.as_deref(), Some(Path::new("dbt_project.yml")));
    assert_eq!(errors[0].line, Some(9));
}

fn cfg(yaml: &str) -> ConfigMap {
    serde_yaml::from_str(yaml).expect("yaml")
}

fn err(yaml: &str) -> ConfigError {
    SnapshotConfig::from_config(&cfg(yaml)).expect_err("refused")
}

#[test]
fn timestamp_and_check_strategies_are_typed() {
    let c = SnapshotConfig::from_config(&cfg("strategy: timestamp\nunique_key: id\nupdated_at: changed")).expect("ok");
    assert_eq!(c.strategy, Strategy::Timestamp { updated_at: "changed".into() });
    assert_eq!(c.unique_key, Key::One("id".into()));
    assert_eq!((c.hard_deletes, c.valid_to_current, c.columns), (HardDeletes::Ignore, None, MetaColumns::default()));
    let c = SnapshotConfig::from_config(&cfg("strategy: check\nunique_key: [a, b]\ncheck_cols: all")).expect("ok");
    assert_eq!(c.strategy, Strategy::Check { cols: CheckCols::All, updated_at: None });
    assert_eq!(c.unique_key, Key::Many(vec!["a".into(), "b".into()]));
    let c = SnapshotConfig::from_config(&cfg("strategy: check\nunique_key: id\ncheck_cols: [s]\nupdated_at: u"))
        .expect("ok");
    assert_eq!(c.strategy, Strategy::Check { cols: CheckCols::List(vec!["s".into()]), updated_at: Some("u".into()) });
}

#[test]
fn hard_deletes_and_the_older_flag() {
    let base = "strategy: timestamp\nunique_key: id\nupdated_at: u\n";
    let mode = |extra: &str| SnapshotConfig::from_config(&cfg(&format!("{base}{extra}"))).map(|c| c.hard_deletes);
    assert_eq!(mode("invalidate_hard_deletes: true"), Ok(HardDeletes::Invalidate));
    assert_eq!(mode("invalidate_hard_deletes: false"), Ok(HardDeletes::Ignore));
    assert_eq!(mode("hard_deletes: new_record"), Ok(HardDeletes::NewRecord));
    assert_eq!(mode("hard_deletes: invalidate"), Ok(HardDeletes::Invalidate));
    assert_eq!(mode("hard_deletes: ignore"), Ok(HardDeletes::Ignore));
    assert_eq!(mode("hard_deletes: sometimes").map_err(|e| e.key), Err("hard_deletes"));
    let both = mode("hard_deletes: ignore\ninvalidate_hard_deletes: true").expect_err("both");
    assert!(both.message.contains("cannot set both"), "{}", both.message);
}

#[test]
fn meta_column_names_and_valid_to_current() {
    let c = SnapshotConfig::from_config(&cfg(
        "strategy: timestamp\nunique_key: id\nupdated_at: u\ndbt_valid_to_current: \"'9999-12-31'::date\"\n\
         snapshot_meta_column_names: {dbt_valid_from: vf, dbt_scd_id: key}",
    ))
    .expect("ok");
    assert_eq!(c.valid_to_current.as_deref(), Some("'9999-12-31'::date"));
    assert_eq!((c.columns.valid_from.as_str(), c.columns.scd_id.as_str()), ("vf", "key"));
    assert_eq!(c.columns.valid_to, "dbt_valid_to");
    let e = err("strategy: timestamp\nunique_key: id\nupdated_at: u\nsnapshot_meta_column_names: {dbt_x: y}");
    assert_eq!(e.key, "snapshot_meta_column_names");
}

/// Any other strategy names a macro, looked up when the snapshot runs; dbt
/// checks none of the config a custom strategy reads (`check_cols: some`
/// included, which only `check` refuses).
#[test]
fn other_strategies_name_macros() {
    for (yaml, name) in [
        ("strategy: latest\nunique_key: id", "latest"),
        ("strategy: pkg.latest\nunique_key: [a, b]\ncheck_cols: some", "pkg.latest"),
        ("strategy: latest\nunique_key: id\ncheck_cols: [a]\nupdated_at: u", "latest"),
    ] {
        let c = SnapshotConfig::from_config(&cfg(yaml)).unwrap_or_else(|e| panic!("{yaml}: {e:?}"));
        assert_eq!(c.strategy, Strategy::Macro(name.into()), "{yaml}");
    }
}

#[test]
fn refused_as_dbt_refuses_them() {
    let cases = [
        ("unique_key: id\nupdated_at: u", "strategy", "must be configured with a 'strategy' and 'unique_key'"),
        ("strategy: timestamp\nupdated_at: u", "unique_key", "must be configured with a 'strategy' and 'unique_key'"),
        ("strategy: timestamp\nunique_key: []\nupdated_at: u", "unique_key", "'unique_key'"),
        ("strategy: timestamp\nunique_key: id", "updated_at", "must specify an updated_at configuration"),
        (
            "strategy: timestamp\nunique_key: id\nupdated_at: u\ncheck_cols: [a]",
            "check_cols",
            "should not have 'check_cols'",
        ),
        ("strategy: check\nunique_key: id", "check_cols", "must specify a check_cols configuration"),
        ("strategy: check\nunique_key: id\ncheck_cols: some", "check_cols", "Invalid value for 'check_cols': some"),
        ("strategy: latest", "unique_key", "must be configured with a 'strategy' and 'unique_key'"),
        ("strategy: latest\nunique_key: id\ncheck_cols: 5", "check_cols", "Invalid value for 'check_cols'"),
        (
            "strategy: check\nunique_key: id\ncheck_cols: all\nmaterialized: table",
            "materialized",
            "materialized value of 'snapshot'",
        ),
    ];
    for (yaml, key, message) in cases {
        let e = err(yaml);
        assert_eq!(e.key, key, "{yaml}");
        assert!(e.message.contains(message), "{yaml}: {}", e.message);
    }
}

#[test]
fn target_schema_is_literal_and_schema_is_custom() {
    let target = target(Path::new("/tmp"));
    let at = |yaml: &str| relation_for(&target, &cfg(yaml), "s").to_string();
    assert_eq!(at("a: 1"), "\"wh\".\"main\".\"s\"");
    assert_eq!(at("target_schema: snaps"), "\"wh\".\"snaps\".\"s\"");
    assert_eq!(at("schema: hist"), "\"wh\".\"main_hist\".\"s\"");
    assert_eq!(at("schema: hist\ntarget_schema: snaps\nalias: t"), "\"wh\".\"snaps\".\"t\"");
    assert_eq!(at("target_database: other\ndatabase: third"), "\"other\".\"main\".\"s\"");
    assert_eq!(at("database: third"), "\"third\".\"main\".\"s\"");
}
