//! Versions as dbt reads them: spelling, order, equality, include/exclude,
//! merged properties and per-version tests of one property file.

use super::*;
use crate::project::properties::parse;
use std::path::Path;

fn v(yaml: &str) -> Version {
    Version::from_yaml(&serde_yaml::from_str(yaml).expect("yaml")).expect("a version")
}

#[test]
fn versions_are_spelled_and_compared_as_dbt_does() {
    assert_eq!((v("1").text, v("1").formatted()), ("1".to_string(), "v1".to_string()));
    assert_eq!(v("1.10").text, "1.1");
    assert_eq!(v("'2'").json, serde_json::json!("2"));
    assert!(v("1").same(&v("1.0")), "Python: 1 == 1.0");
    assert!(!v("1").same(&v("'1'")), "Python: 1 != '1'");
    assert_eq!(v("2").dbt_cmp(&v("10")), Ordering::Less);
    assert_eq!(v("'2'").dbt_cmp(&v("'10'")), Ordering::Less, "strings that read as numbers compare as numbers");
    assert_eq!(v("'b'").dbt_cmp(&v("'a'")), Ordering::Greater);
    assert!(Version::from_yaml(&serde_yaml::from_str("[1]").expect("yaml")).is_err());
}

#[test]
fn deprecation_dates_are_normalized_as_dbt_does() {
    let d = DeprecationDate::parse(&Value::String("2021-06-01 10:30:00+02:00".into())).expect("date");
    assert_eq!(d.iso, "2021-06-01T10:30:00+02:00");
    assert!(d.is_past());
    let far = DeprecationDate::parse(&Value::String("2999-01-01".into())).expect("date");
    assert!(far.iso.starts_with("2999-01-01T00:00:00"), "{}", far.iso);
    assert!(!far.is_past());
    assert!(DeprecationDate::parse(&Value::String("soon".into())).is_err());
}

const ENTRY: &str = "models:
  - name: dim
    latest_version: 2
    description: the model
    config:
      materialized: table
      tags: [a]
    data_tests:
      - unique:
          column_name: \"id || name\"
    columns:
      - name: id
        data_tests: [not_null]
      - name: name
      - name: country
    versions:
      - v: 1
        defined_in: dim_old
        deprecation_date: 2020-01-01
        columns:
          - include: all
            exclude: [country]
      - v: 2
        description: the second
        config:
          tags: [b]
          materialized: view
      - v: 3
        data_tests: []
        columns:
          - include: [id]
          - name: extra
            data_tests: [unique]
";

#[test]
fn each_version_gets_its_merged_properties_and_tests() {
    let d = parse(Path::new("models/schema.yml"), ENTRY, None);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let versions: Vec<(&str, &str, Vec<&str>)> = d
        .versions
        .iter()
        .map(|x| (x.version.v.text.as_str(), x.file.as_str(), x.props.columns.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        versions,
        vec![
            ("1", "dim_old", vec!["id", "name"]),
            ("2", "dim_v2", vec!["id", "name", "country"]),
            ("3", "dim_v3", vec!["id", "extra"])
        ]
    );
    assert!(d.versions.iter().all(|x| x.version.latest.text == "2"));
    let two = &d.versions[1].props;
    // dbt's deep merge: the version's list items before the model's.
    assert_eq!(two.config.get("tags"), Some(&serde_yaml::from_str::<Value>("[b, a]").expect("yaml")));
    assert_eq!(two.config.get("materialized"), Some(&Value::String("view".into())));
    assert_eq!(two.description.as_deref(), Some("the second"));
    assert_eq!(d.versions[0].props.description.as_deref(), Some("the model"));
    assert!(d.versions[0].props.deprecation_date.is_some() && two.deprecation_date.is_none());
    assert_eq!(d.versions[0].props.line, Some(17));
    // Column tests of the included columns, then the model's tests unless
    // the version has its own (`data_tests: []`: none).
    let tests: Vec<(String, &str, Option<&str>)> = d
        .tests
        .iter()
        .map(|t| (t.version.as_ref().map(|v| v.text.clone()).unwrap_or_default(), t.test.as_str(), t.column.as_deref()))
        .collect();
    assert_eq!(
        tests,
        vec![
            ("1".into(), "not_null", Some("id")),
            ("1".into(), "unique", Some("id || name")),
            ("2".into(), "not_null", Some("id")),
            ("2".into(), "unique", Some("id || name")),
            ("3".into(), "not_null", Some("id")),
            ("3".into(), "unique", Some("extra")),
        ]
    );
    assert_eq!(d.models.len(), 1);
    assert!(d.models[0].1.versioned);
}

#[test]
fn bad_version_entries_are_dbt_errors_at_their_line() {
    let cases = [
        ("    latest_version: 5\n    versions:\n      - v: 1\n", "`latest_version: 5` is not one of its versions: 1"),
        ("    versions:\n      - v: 1\n      - v: 1\n", "duplicate version `1`"),
        ("    versions:\n      - defined_in: x\n", "needs `v:`"),
        (
            "    versions:\n      - v: 1\n        columns:\n          - include: [a]\n            exclude: [b]\n",
            "`exclude` can only be specified",
        ),
        ("    versions:\n      - v: 1\n        columns:\n          - include: some\n", "`include` must be one of"),
        (
            "    versions:\n      - v: 1\n        columns:\n          - include: all\n          - exclude: [a]\n",
            "at most one include/exclude",
        ),
        ("    latest_version: 1\n", "has no `versions:`"),
    ];
    for (body, want) in cases {
        let text = format!("models:\n  - name: m\n{body}");
        let d = parse(Path::new("models/s.yml"), &text, None);
        assert_eq!(d.errors.len(), 1, "{text}: {:?}", d.errors);
        assert!(d.errors[0].message.contains(want), "{text}: {}", d.errors[0].message);
        assert_eq!(d.errors[0].file.as_deref(), Some(Path::new("models/s.yml")));
        assert!(d.errors[0].line.is_some());
    }
    let d = parse(Path::new("seeds/s.yml"), "seeds:\n  - name: s\n    versions:\n      - v: 1\n", None);
    assert!(d.errors[0].message.contains("`versions` is a property of models only"), "{:?}", d.errors);
}

#[test]
fn versions_are_matched_to_files_with_the_latest_falling_back_to_the_model_name() {
    let d = parse(
        Path::new("models/s.yml"),
        "models:\n  - name: m\n    versions:\n      - v: 1\n      - v: 2\n      - v: 3\n",
        None,
    );
    let mut versions = Versions { declared: d.versions, ..Default::default() };
    let file = |name: &str| SqlFile {
        name: name.into(),
        path: format!("models/{name}.sql").into(),
        folders: Vec::new(),
        text: String::new(),
    };
    // v3 is the latest (the greatest), so `m.sql` defines it; v2 has no file.
    let (warnings, errors) = versions.resolve(&[file("m"), file("m_v1")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("`m_v2` for version `2` of model `m`"), "{}", warnings[0].message);
    assert_eq!(versions.of_file("m").map(|d| d.version.v.text.as_str()), Some("3"));
    assert_eq!(versions.of_file("m_v1").map(|d| d.version.v.text.as_str()), Some("1"));
    // With `m_v3.sql` present, `m.sql` is an unversioned model of the same name: dbt's error.
    let mut versions = Versions { declared: versions.declared, ..Default::default() };
    let (_, errors) = versions.resolve(&[file("m"), file("m_v1"), file("m_v2"), file("m_v3")]);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("versioned and unversioned models with the name `m`"), "{}", errors[0].message);
}
