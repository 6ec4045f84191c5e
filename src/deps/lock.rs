//! `package-lock.yml` as dbt writes and reads it: every package installed
//! (the ones `packages.yml` lists and the ones they depend on), pinned, and
//! `sha1_hash`, the hash of `packages.yml`'s entries that tells whether the
//! lock still answers them.
//!
//! The hash is dbt's own (each entry as dbt's package contract dumps it to
//! JSON with sorted keys, the lines sorted, SHA-1), so a lock written by
//! `dbt deps` is honoured by `runner deps` and the other way round.

use serde_yaml::Value;
use std::path::Path;

pub(super) const FILE: &str = "package-lock.yml";

/// dbt's `_create_sha1_hash` over the entries of `packages.yml`, each as
/// rendered and as written.
pub(super) fn hash(entries: &[(Value, Value)]) -> Result<String, duckdb::Error> {
    let mut lines: Vec<String> = entries.iter().map(|(rendered, raw)| py_json(&contract_dict(rendered, raw))).collect();
    lines.sort();
    sha1_hex(&lines.join("\n"))
}

/// SHA-1 from DuckDB's own `sha1()`: runner links DuckDB anyway, and a SHA-1
/// crate would change the features of crates that DuckDB's build script
/// shares, which recompiles DuckDB (45 minutes) on every machine.
fn sha1_hex(text: &str) -> Result<String, duckdb::Error> {
    let conn = duckdb::Connection::open_in_memory()?;
    conn.query_row("select sha1(?)", [text], |r| r.get(0))
}

/// An entry as dbt's package contract holds it (`to_dict()`): its fields
/// as rendered, with dbt's defaults, and `unrendered`, the entry as written.
fn contract_dict(entry: &Value, unrendered: &Value) -> Value {
    let Value::Mapping(raw) = entry else { return entry.clone() };
    let get = |k: &str| raw.get(k).cloned().unwrap_or(Value::Null);
    let mut out = serde_yaml::Mapping::new();
    let mut put = |k: &str, v: Value| {
        out.insert(Value::from(k), v);
    };
    // `name` is dumped only when given; the other optional fields as null.
    if let Some(name) = raw.get("name") {
        put("name", name.clone());
    }
    if raw.contains_key("package") {
        put("install_prerelease", Value::Bool(matches!(raw.get("install_prerelease"), Some(Value::Bool(true)))));
        put("package", get("package"));
        put("version", get("version"));
    } else if raw.contains_key("git") {
        put("git", get("git"));
        put("revision", get("revision"));
        put("subdirectory", get("subdirectory"));
        put("warn-unpinned", get("warn-unpinned"));
    } else if raw.contains_key("tarball") {
        put("tarball", get("tarball"));
    } else if raw.contains_key("local") {
        put("local", get("local"));
    }
    put("unrendered", unrendered.clone());
    Value::Mapping(out)
}

/// Python's `json.dumps(value, sort_keys=True)`: `", "` and `": "`
/// separators, non-ASCII escaped.
fn py_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Sequence(items) => format!("[{}]", items.iter().map(py_json).collect::<Vec<_>>().join(", ")),
        Value::Mapping(m) => {
            let mut pairs: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (k.as_str().map(str::to_string).unwrap_or_else(|| py_json(k)), py_json(v)))
                .collect();
            pairs.sort();
            let body: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{}: {v}", py_str(&k))).collect();
            format!("{{{}}}", body.join(", "))
        }
        Value::Tagged(t) => py_json(&t.value),
    }
}

fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The lock's entries, if it exists and was written for entries hashing to `hash`.
pub(super) fn read_matching(root: &Path, hash: &str) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(root.join(FILE)).ok()?;
    let doc: Value = serde_yaml::from_str(&text).ok()?;
    if doc.get("sha1_hash").and_then(Value::as_str) != Some(hash) {
        return None;
    }
    doc.get("packages").and_then(Value::as_sequence).cloned()
}

/// Writes the lock: one mapping per package (keys in dbt's order), then the hash.
pub(super) fn write(root: &Path, entries: &[Vec<(String, String)>], hash: &str) -> std::io::Result<()> {
    let packages: Vec<Value> = entries
        .iter()
        .map(|e| Value::Mapping(e.iter().map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str()))).collect()))
        .collect();
    let mut doc = serde_yaml::Mapping::new();
    doc.insert("packages".into(), Value::Sequence(packages));
    doc.insert("sha1_hash".into(), Value::from(hash));
    let text = serde_yaml::to_string(&doc).map_err(std::io::Error::other)?;
    std::fs::write(root.join(FILE), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries with nothing to render: each is its own unrendered form.
    fn entries(yaml: &str) -> Vec<(Value, Value)> {
        let doc: Value = serde_yaml::from_str(yaml).expect("yaml");
        doc["packages"].as_sequence().expect("list").iter().map(|e| (e.clone(), e.clone())).collect()
    }

    /// Hashes computed by dbt-core 1.10's `dbt.task.deps._create_sha1_hash`
    /// over the same `packages.yml` (loaded with `package_config_from_data`).
    #[test]
    fn the_hash_is_dbts() {
        let yaml = "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - git: https://github.com/x/y.git\n    revision: v1\n    subdirectory: sub\n  - local: ../pkg\n  - package: a/b\n    version: 1.3.0\n    name: \"é\"\n";
        assert_eq!(hash(&entries(yaml)).expect("hash"), DBT_HASH_1);
        let yaml = "packages:\n  - package: dbt-labs/dbt_utils\n    version: \">=1.0.0,<2.0.0\"\n    name: x\n    install_prerelease: true\n  - git: https://github.com/x/y.git\n  - git: u\n    warn-unpinned: false\n  - tarball: http://x/y.tgz\n    name: y\n";
        assert_eq!(hash(&entries(yaml)).expect("hash"), DBT_HASH_2);
        let yaml = "packages:\n  - local: p\n    name: n\n  - git: g\n    name: m\n    revision: 1\n";
        assert_eq!(hash(&entries(yaml)).expect("hash"), DBT_HASH_3);
    }

    /// `dbt deps` hashed these rendered entries (`GITDIR=/tmp/pkx`, `REV`
    /// and `PKG_DIR` unset) with the entries as written under `unrendered`.
    #[test]
    fn a_rendered_entry_hashes_with_its_unrendered_form() {
        let pair = |rendered: &str, raw: &str| {
            (serde_yaml::from_str::<Value>(rendered).expect("yaml"), serde_yaml::from_str::<Value>(raw).expect("yaml"))
        };
        let git = pair(
            "{git: 'file:///tmp/pkx/bare.git', revision: HEAD}",
            "{git: \"file://{{ env_var('GITDIR') }}/bare.git\", revision: \"{{ env_var('REV', 'HEAD') }}\"}",
        );
        assert_eq!(hash(&[git]).expect("hash"), "fef59901e36640bb9b9e332f633eee5b711b16e5");
        let local = pair("{local: mypkg}", "{local: \"{{ env_var('PKG_DIR', 'mypkg') }}\"}");
        assert_eq!(hash(&[local]).expect("hash"), "49812265f51290c3bdb556fae9ee0fe575290359");
    }

    const DBT_HASH_1: &str = "d4dbe955688f80e4e1d6fabda2d866aa5b985a46";
    const DBT_HASH_2: &str = "8554d06db1bc6680852a3875c6e140b80ec843c6";
    const DBT_HASH_3: &str = "06bf540c5997aa9383dea78d54607883752ed60d";

    #[test]
    fn sha1_is_sha1() {
        assert_eq!(sha1_hex("abc").expect("sha1"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn python_json_escapes_as_python_does() {
        assert_eq!(py_str("é\"\\"), "\"\\u00e9\\\"\\\\\"");
        let v: Value = serde_yaml::from_str("{b: [1, true, null], a: x}").expect("yaml");
        assert_eq!(py_json(&v), r#"{"a": "x", "b": [1, true, null]}"#);
    }
}
