//! The selector methods: which plan node or source one `method:value`
//! criterion matches, following dbt-core 1.10's selector methods. Pure.

use crate::nodes::{Node, NodeKind, Resource};
use serde_yaml::Value;
use std::path::Path;

/// What a criterion is matched against: a plan node, a source it reads,
/// or an exposure.
pub enum Member<'a> {
    Node(&'a Node),
    Source { project: &'a str, source: &'a str, table: &'a str },
    Exposure(&'a crate::nodes::Exposure),
}

/// dbt's resource types; the ones runner has no nodes of select nothing.
const RESOURCE_TYPES: &[&str] = &[
    "model",
    "seed",
    "test",
    "source",
    "snapshot",
    "analysis",
    "operation",
    "exposure",
    "metric",
    "semantic_model",
    "saved_query",
    "unit_test",
    "group",
    "macro",
    "doc",
    "function",
];

/// Rejects unknown methods and values dbt rejects, before anything is matched.
pub fn check(method: &str, value: &str) -> Result<(), String> {
    let base = method.split('.').next().unwrap_or(method);
    match base {
        "fqn" | "tag" | "path" | "file" | "package" | "unit_test" => Ok(()),
        "exposure" if value.split('.').count() <= 2 => Ok(()),
        "exposure" => Err(format!("`{value}` is not `exposure_name` or `package.exposure_name`")),
        "version" if matches!(value, "latest" | "prerelease" | "old" | "none") => Ok(()),
        "version" => Err(format!(
            "invalid version type selector `{value}`: expected one of `latest`, `prerelease`, `old` or `none`"
        )),
        "config" if method.len() > "config.".len() => Ok(()),
        "config" => Err("`config` needs a key, like `config.materialized:table`".into()),
        "resource_type" if RESOURCE_TYPES.contains(&value) => Ok(()),
        "resource_type" => Err(format!("unknown resource type `{value}` (use `model`, `seed`, `snapshot`, `test` or `source`)")),
        "test_type" if matches!(value, "generic" | "schema" | "singular" | "data" | "unit") => Ok(()),
        "test_type" => Err(format!("unknown test type `{value}` (use `generic`, `singular`, `data` or `unit`)")),
        "source" if value.split('.').count() <= 3 => Ok(()),
        "source" => Err(format!("`{value}` is not `source_name`, `source_name.table_name` or `package.source_name.table_name`")),
        // dbt's methods over what runner does not read: said as such, not as a typo.
        "metric" | "semantic_model" | "saved_query" | "group" | "access" => Err(format!(
            "dbt's `{base}:` method is not supported: runner accepts metrics, semantic models, saved queries and groups in property files but does not read them"
        )),
        "state" | "result" | "source_status" => Err(format!(
            "dbt's `{base}:` method is not supported: runner keeps no previous dbt artifacts to compare with (no `--state`)"
        )),
        _ => Err(format!(
            "unknown selector method `{base}` (runner has `fqn`, `tag`, `path`, `file`, `resource_type`, `config.<key>`, `source`, `exposure`, `test_type`, `unit_test`, `package`, `version`)"
        )),
    }
}

pub fn matches(m: &Member, method: &str, value: &str) -> bool {
    let node = match m {
        Member::Source { project, source, table } => {
            return match method {
                "source" => source_matches(project, source, table, value),
                "resource_type" => value == "source",
                "package" => fnmatch(project, if value == "this" { project } else { value }),
                _ => false,
            }
        }
        Member::Exposure(e) => return exposure_matches(e, method, value),
        Member::Node(n) => n,
    };
    match method {
        "fqn" => {
            let versioned = node.resource == Resource::Model && node.version.is_some();
            matches_everything(value) || fqn_matches(&node.fqn(), value, versioned)
        }
        // dbt's `version:` method: only models, by their place among the model's versions.
        "version" => {
            node.resource == Resource::Model
                && match (value, &node.version) {
                    ("none", v) => v.is_none(),
                    ("latest", Some(v)) => v.is_latest(),
                    ("prerelease", Some(v)) => v.is_prerelease(),
                    ("old", Some(v)) => v.is_old(),
                    _ => false,
                }
        }
        "tag" => crate::config_tree::as_strings(node.config.get("tags")).iter().any(|t| fnmatch(t, value)),
        // dbt matches a node's `original_file_path`: a package's node by its
        // path within the package (`path:models` selects those too).
        "path" => path_matches(&node.original_file_path, value),
        "file" => {
            let file = &node.original_file_path;
            let name = file.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            fnmatch(&name, value) || fnmatch(&stem, value)
        }
        "package" => fnmatch(node.project(), if value == "this" { node.project() } else { value }),
        "resource_type" => node.resource.as_str() == value,
        "test_type" => match &node.kind {
            NodeKind::GenericTest { .. } => matches!(value, "generic" | "schema" | "data"),
            NodeKind::SingularTest { .. } => matches!(value, "singular" | "data"),
            NodeKind::UnitTest(_) => value == "unit",
            _ => false,
        },
        // dbt's `unit_test:name` or `unit_test:package.name`, globs allowed.
        "unit_test" => {
            node.resource == Resource::UnitTest
                && match value.split_once('.') {
                    Some((package, name)) => fnmatch(node.project(), package) && fnmatch(&node.name, name),
                    None => fnmatch(&node.name, value),
                }
        }
        "source" => false,
        m => match m.strip_prefix("config.") {
            Some(key) => config_matches(node, key, value),
            None => false,
        },
    }
}

/// dbt's methods over an exposure (its `config.` method matches none).
fn exposure_matches(e: &crate::nodes::Exposure, method: &str, value: &str) -> bool {
    let file = Path::new(&e.original_file_path);
    match method {
        "fqn" => matches_everything(value) || fqn_matches(&e.fqn(), value, false),
        "exposure" => match value.split_once('.') {
            Some((package, name)) => fnmatch(&e.package, package) && fnmatch(&e.decl.name, name),
            None => fnmatch(&e.decl.name, value),
        },
        "tag" => e.tags.iter().any(|t| fnmatch(t, value)),
        "path" => path_matches(file, value),
        "file" => {
            [file.file_name(), file.file_stem()].into_iter().flatten().any(|f| fnmatch(&f.to_string_lossy(), value))
        }
        "package" => fnmatch(&e.package, if value == "this" { &e.package } else { value }),
        "resource_type" => value == "exposure",
        _ => false,
    }
}

fn source_matches(project: &str, source: &str, table: &str, value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    let (p, s, t) = match parts.as_slice() {
        [s] => ("*", *s, "*"),
        [s, t] => ("*", *s, *t),
        [p, s, t] => (*p, *s, *t),
        _ => return false,
    };
    fnmatch(project, p) && fnmatch(source, s) && fnmatch(table, t)
}

/// dbt's `is_selected_node`, tried on the fqn and on it without the project.
/// A versioned model's fqn ends in `v<v>`.
pub fn fqn_matches(fqn: &[String], selector: &str, versioned: bool) -> bool {
    selected(fqn, selector, versioned) || (fqn.len() > 1 && selected(&fqn[1..], selector, versioned))
}

/// `*` matches every fqn (a wildcard from the first part on): the common
/// `select: ["*"]` needs no fqn built per node.
fn matches_everything(selector: &str) -> bool {
    selector == "*"
}

fn selected(fqn: &[String], selector: &str, versioned: bool) -> bool {
    match fqn {
        // A model version is selected by its model's name (every version),
        // or by `<name>.v<v>` / `<name>_v<v>` (that one).
        [.., name, version] if versioned => {
            let parts: Vec<&str> = selector.split('.').collect();
            let tail = parts[parts.len().saturating_sub(2)..].join("_");
            if name == selector || format!("{name}_{version}") == tail {
                return true;
            }
        }
        [.., leaf] if !versioned && leaf == selector => return true,
        _ => {}
    }
    // Dots in names act as namespace separators.
    let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
    let parts: Vec<&str> = selector.split('.').collect();
    if flat.len() < parts.len() {
        return false;
    }
    for (i, part) in parts.iter().enumerate() {
        if part.contains(['*', '?', '[', ']']) {
            // From the first wildcard on, the rest of the fqn must match the rest of the selector.
            return fnmatch(&flat[i..].join("."), &parts[i..].join("."));
        }
        if flat[i] != *part {
            return false;
        }
    }
    true
}

/// `path:` is a glob relative to the project: a node matches when its file,
/// or a folder above it, matches segment by segment (`**` spans folders).
fn path_matches(file: &Path, value: &str) -> bool {
    let value = value.trim_start_matches("./").trim_end_matches('/');
    let pattern: Vec<&str> = value.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let segs: Vec<String> = file.iter().map(|c| c.to_string_lossy().to_string()).collect();
    (1..=segs.len()).any(|n| segments_match(&pattern, &segs[..n]))
}

fn segments_match(pattern: &[&str], segs: &[String]) -> bool {
    match pattern.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|k| segments_match(rest, &segs[k..])),
        Some((p, rest)) => segs.split_first().is_some_and(|(s, tail)| fnmatch(s, p) && segments_match(rest, tail)),
    }
}

/// dbt's `config.<key>:value`: case-insensitive against a string, any item of
/// a list, `true`/`false` against a boolean; dbt's defaults fill unset keys.
fn config_matches(node: &Node, key: &str, value: &str) -> bool {
    let default = match (key, node.resource) {
        ("materialized", Resource::Model) => Some("view"),
        ("materialized", Resource::Seed) => Some("seed"),
        ("materialized", Resource::Snapshot) => Some("snapshot"),
        ("materialized", Resource::Test) => Some("test"),
        ("severity", Resource::Test) => Some("ERROR"),
        ("enabled", _) => Some("true"),
        _ => None,
    };
    let eq = |v: &Value| match v {
        Value::String(s) => s.eq_ignore_ascii_case(value),
        Value::Bool(b) => b.to_string().eq_ignore_ascii_case(value),
        Value::Number(n) => n.to_string() == value,
        _ => false,
    };
    match node.config.get(key) {
        Some(Value::Sequence(items)) => items.iter().any(eq),
        Some(v) => eq(v),
        None => default.is_some_and(|d| d.eq_ignore_ascii_case(value)),
    }
}

/// Python's `fnmatch.fnmatch(text, pattern)`: `*`, `?`, `[seq]`, `[!seq]`.
/// Written here rather than taken from `globset` or `glob`: dbt matches
/// selectors with Python's fnmatch, where an unclosed `[` is a literal, `*`
/// crosses `/` and `{a,b}` is literal text; both crates differ on each.
pub fn fnmatch(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
            continue;
        }
        let step = if pi < p.len() { single(&p[pi..], t[ti]) } else { None };
        match step {
            Some(width) => {
                pi += width;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether the pattern's first element matches `c`; returns its width.
fn single(p: &[char], c: char) -> Option<usize> {
    match p[0] {
        '?' => Some(1),
        '[' => match p.iter().skip(2).position(|&x| x == ']').map(|i| i + 2) {
            // An unclosed `[` is a literal, as in Python.
            None => (c == '[').then_some(1),
            Some(close) => {
                let (negate, body) = match p[1] {
                    '!' => (true, &p[2..close]),
                    _ => (false, &p[1..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < body.len() {
                    if i + 2 < body.len() && body[i + 1] == '-' {
                        hit |= body[i] <= c && c <= body[i + 2];
                        i += 3;
                    } else {
                        hit |= body[i] == c;
                        i += 1;
                    }
                }
                (hit != negate).then_some(close + 1)
            }
        },
        x => (x == c).then_some(1),
    }
}
