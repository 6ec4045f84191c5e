use super::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

type Map = BTreeMap<String, serde_yaml::Value>;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Entry {
    name: String,
    description: Option<String>,
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let m: Map = from_str("\u{feff}name: shop\nversion: 1\n").expect("parses");
    assert_eq!(m["name"], serde_yaml::Value::from("shop"));
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("x.yml");
    std::fs::write(&p, "\u{feff}a: 1\n").expect("write");
    assert_eq!(read(&p).expect("reads"), "a: 1\n");
}

#[test]
fn a_duplicate_key_points_at_the_duplicate() {
    let e = from_str::<Map>("a: 1\nb: 2\n\na: 3\n").expect_err("duplicate");
    assert_eq!((e.line, e.column), (Some(4), Some(1)), "{e}");
    assert!(e.message.contains("duplicate") && e.message.contains("\"a\""), "{}", e.message);
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("`a`")), "{:?}", e.hint);
    let e = from_str::<Vec<Entry>>("- name: x\n- name: y\n  description: d\n  name: z\n").expect_err("duplicate");
    assert_eq!((e.line, e.column), (Some(4), Some(3)), "{e}");
    assert!(e.message.contains("duplicate field `name`"), "{}", e.message);
}

#[test]
fn an_alias_bomb_says_what_is_wrong() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let started = Instant::now();
    let e = from_str::<serde_yaml::Value>(&text).expect_err("bomb");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(e.message.contains("aliases expand to too much data"), "{}", e.message);
    assert!(e.hint.is_some());
}

#[test]
fn deep_nesting_is_rejected_at_once() {
    let started = Instant::now();
    let e = from_str::<serde_yaml::Value>(&format!("a: {}", "[".repeat(100_000))).expect_err("deep");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(e.message.contains("nested more than 256 levels"), "{}", e.message);
    assert_eq!(e.line, Some(1));
    // What serde_yaml accepts still parses.
    let ok = format!("a: {}1{}", "[".repeat(100), "]".repeat(100));
    assert!(from_str::<serde_yaml::Value>(&ok).is_ok());
}

#[test]
fn errors_name_their_file() {
    let e = from_str::<Map>("a: [").expect_err("bad");
    let d = e.in_file(Path::new("dags/x.yml"));
    assert_eq!(d.file.as_deref(), Some(Path::new("dags/x.yml")));
    assert!(d.line.is_some());
    assert!(!d.message.contains(" at line "), "{}", d.message);
}

#[test]
fn merge_keys_merge_with_the_mappings_own_keys_first() {
    let text = "base: &b {a: 1, b: 2}\nthing:\n  <<: *b\n  b: 3\nmany:\n  <<: [{x: 1}, {y: 2}]\n";
    let v: serde_yaml::Value = from_str(text).expect("parses");
    assert_eq!(v["thing"]["a"], serde_yaml::Value::from(1));
    assert_eq!(v["thing"]["b"], serde_yaml::Value::from(3));
    assert!(v["thing"].get("<<").is_none());
    assert_eq!(v["many"]["y"], serde_yaml::Value::from(2));
    // A merge of a scalar is YAML's error, with serde_yaml's words.
    let e = from_str::<serde_yaml::Value>("a:\n  <<: 1\n").expect_err("a scalar");
    assert!(e.message.starts_with("invalid yaml: "), "{e}");
}

#[test]
fn a_type_error_in_a_file_with_merge_keys_keeps_its_line_when_the_merge_is_not_the_cause() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        base: serde_yaml::Value,
        thing: serde_yaml::Value,
        count: u32,
    }
    let text = "base: &b {a: 1}\nthing:\n  <<: *b\ncount: many\n";
    let e = from_str::<Doc>(text).expect_err("count is no number");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("invalid type"), "{e}");
}
