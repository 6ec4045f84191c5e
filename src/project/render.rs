//! Which YAML values dbt renders while it parses, and with which `var()`:
//! every string holding Jinja in `dbt_project.yml` and in property files,
//! except what dbt renders later. The rules are dbt-core 1.10's own:
//!
//! - `dbt_project.yml` (dbt's `DbtProjectYamlRenderer`): every key but
//!   `vars`, `on-run-start`, `on-run-end`, `query-comment` and the hooks of
//!   the `models`, `seeds`, `snapshots` and `data_tests` trees; `var()` sees
//!   the command line's vars in the root project's file and none in a
//!   package's. `flags:` dbt reads before rendering, so Jinja there is refused.
//! - property files (dbt's `SchemaYamlRenderer`): every entry of every
//!   section, except descriptions, tests (rendered per test below) and
//!   `loaded_at_query`, at the key paths dbt names (see [`norender`]);
//!   `var()` sees the command line's vars, then the projects' own.
//! - a test's configs (dbt's generic test builder): each top-level string.
//!
//! An `enabled` config must then be a boolean, as dbt's validation demands.
//! Every value that cannot render, and every `enabled` that is not a
//! boolean, is an error naming the file, key and line. How one value renders
//! is the [`Render`] the caller gives (`template::YamlJinja`); this module
//! decides only where.

use crate::config::find_line;
use crate::diag::Diagnostic;
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Whether `text` holds Jinja at all (dbt's own quick test before rendering).
pub(crate) fn has_jinja(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Renders one YAML value as dbt renders it while parsing.
pub trait Render: Send + Sync {
    /// A value of a `dbt_project.yml`: the root project's (`root`), whose
    /// `var()` sees the command line's vars, or a package's, whose sees none.
    fn project_value(&self, text: &str, root: bool) -> Result<Value, String>;
    /// A value of a property file of the project named `project`: `var()`
    /// sees the command line's vars, then each of `vars` in order.
    fn property_value(&self, text: &str, project: &str, vars: &[BTreeMap<String, Value>]) -> Result<Value, String>;
}

/// How a property file of one project renders.
#[derive(Clone, Copy)]
pub struct Properties<'a> {
    pub render: &'a dyn Render,
    pub project: &'a str,
    /// The projects' vars, highest precedence first (see [`property_vars`]).
    pub vars: &'a [BTreeMap<String, Value>],
}

/// The vars a property file of project `owner` reads after the command
/// line's, as dbt's `ConfiguredVar` layers them: the root project's vars for
/// `owner` (`vars: {owner: {…}}`), its global ones, then for a package its
/// own scoped and global ones.
pub fn property_vars(
    root: &BTreeMap<String, Value>,
    owner: &str,
    own: Option<&BTreeMap<String, Value>>,
) -> Vec<BTreeMap<String, Value>> {
    let scoped = |vars: &BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        match vars.get(owner) {
            Some(Value::Mapping(m)) => {
                m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect()
            }
            _ => BTreeMap::new(),
        }
    };
    let mut layers = vec![scoped(root), root.clone()];
    if let Some(own) = own {
        layers.push(scoped(own));
        layers.push(own.clone());
    }
    layers
}

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn key(kp: &[Seg], i: usize) -> Option<&str> {
    match kp.get(i) {
        Some(Seg::Key(k)) => Some(k),
        _ => None,
    }
}

/// dbt's `DbtProjectYamlRenderer.should_render_keypath`.
fn project_renders(kp: &[Seg]) -> bool {
    let Some(first) = key(kp, 0) else { return true };
    if ["on-run-start", "on-run-end", "query-comment", "vars"].contains(&first) {
        return false;
    }
    if ["seeds", "models", "snapshots", "tests", "data_tests"].contains(&first) {
        let hook = |s: &Seg| match s {
            Seg::Key(k) => {
                ["pre-hook", "post-hook", "pre_hook", "post_hook"].contains(&k.trim_start_matches(['+', ' ']))
            }
            Seg::Index(_) => false,
        };
        return !kp.iter().any(hook);
    }
    true
}

/// dbt's `SchemaYamlRenderer._is_norender_key`, over a key path below one entry.
fn norender(kp: &[Seg]) -> bool {
    const LATER: &[&str] = &["tests", "data_tests", "description", "loaded_at_query"];
    let is = |i: usize, set: &[&str]| key(kp, i).is_some_and(|k| set.contains(&k));
    (!kp.is_empty() && is(0, LATER))
        || (kp.len() == 2 && is(1, LATER))
        || (kp.len() >= 2 && is(0, &["config"]) && is(1, &["pre_hook", "post_hook", "loaded_at_query"]))
        || (kp.len() == 5 && is(4, &["description"]))
        || (kp.len() >= 3
            && is(0, &["columns", "dimensions", "measures", "entities"])
            && is(2, &["tests", "data_tests", "description"]))
}

/// dbt's `SchemaYamlRenderer.should_render_keypath` for an entry of `section`.
fn schema_renders(section: &str, kp: &[Seg]) -> bool {
    if kp.is_empty() {
        return true;
    }
    match section {
        "sources" => {
            if key(kp, 0).is_some_and(|k| k == "description" || k == "loaded_at_query")
                || (key(kp, 0) == Some("config") && key(kp, 1) == Some("loaded_at_query"))
            {
                return false;
            }
            !(key(kp, 0) == Some("tables") && norender(kp.get(2..).unwrap_or_default()))
        }
        "macros" if key(kp, 0) == Some("arguments") => !norender(&kp[1..]),
        "metrics" => {
            let filter =
                key(kp, kp.len() - 1) == Some("filter") || (kp.len() > 1 && key(kp, kp.len() - 2) == Some("filter"));
            !filter && !norender(kp)
        }
        "saved_queries" if key(kp, 0) == Some("query_params") && key(kp, 1) == Some("where") => false,
        _ => !norender(kp),
    }
}

/// One file's pass: where its values are, how they render, what went wrong.
struct Pass<'a> {
    file: &'a Path,
    text: &'a str,
    how: How<'a>,
    errors: Vec<Diagnostic>,
    /// Each value rendered: its key (for messages) and what it became.
    rendered: Vec<(String, Value)>,
}

#[derive(Clone, Copy)]
enum How<'a> {
    Project { render: &'a dyn Render, root: bool },
    Properties(Properties<'a>),
}

impl Pass<'_> {
    fn line_of(&self, raw: &str) -> Option<usize> {
        raw.lines().next().and_then(|first| find_line(self.text, first.trim()))
    }

    fn render(&mut self, v: &mut Value, label: &str) {
        let Value::String(raw) = v else { return };
        if !has_jinja(raw) {
            return;
        }
        let out = match self.how {
            How::Project { render, root } => render.project_value(raw, root),
            How::Properties(p) => p.render.property_value(raw, p.project, p.vars),
        };
        match out {
            Ok(out) => {
                self.rendered.push((label.to_string(), out.clone()));
                *v = out;
            }
            Err(e) => {
                let line = self.line_of(raw);
                self.errors
                    .push(Diagnostic::in_file(self.file, format!("`{label}` cannot render: {e}")).at(line, None));
            }
        }
    }

    /// Renders what `renders` allows under `v` (at key path `kp`, shown as
    /// `label`), and checks that each value `enabled_at` points at (by its
    /// key path) is a boolean.
    fn walk(
        &mut self,
        v: &mut Value,
        kp: &mut Vec<Seg>,
        label: &str,
        renders: &dyn Fn(&[Seg]) -> bool,
        enabled_at: &dyn Fn(&[Seg], &Value) -> bool,
    ) {
        match v {
            Value::Mapping(m) => {
                for (k, item) in m.iter_mut() {
                    let name = match k {
                        Value::String(s) => s.clone(),
                        other => crate::data_tests::naming::py_str(other),
                    };
                    let child = format!("{label}.{name}");
                    let raw = item.as_str().map(str::to_string);
                    kp.push(Seg::Key(name));
                    self.walk(item, kp, &child, renders, enabled_at);
                    if enabled_at(kp, item) && !item.is_bool() {
                        self.not_boolean(&child, raw.as_deref(), item);
                    }
                    kp.pop();
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let child = match item.get("name").and_then(Value::as_str) {
                        Some(name) => format!("{label}.{name}"),
                        None => format!("{label}[{i}]"),
                    };
                    kp.push(Seg::Index(i));
                    self.walk(item, kp, &child, renders, enabled_at);
                    kp.pop();
                }
            }
            Value::String(_) if renders(kp) => self.render(v, label),
            _ => {}
        }
    }

    /// dbt's "is not of type 'boolean'" for an `enabled` config.
    fn not_boolean(&mut self, label: &str, raw: Option<&str>, v: &Value) {
        let shown = match v {
            Value::String(s) => format!("`{s}` (text)"),
            other => format!("`{}`", crate::data_tests::naming::py_str(other)),
        };
        let rendered = raw.is_some_and(has_jinja);
        let verb = if rendered { "renders to" } else { "is" };
        let line = raw.and_then(|r| self.line_of(r)).or_else(|| find_line(self.text, label.rsplit('.').next()?));
        let hint = match rendered {
            true => "write an expression that is true or false, e.g. `{{ target.name == 'prod' }}` or `{{ env_var('X', 'True') | as_bool }}`",
            false => "write `true` or `false`, without quotes",
        };
        self.errors.push(
            Diagnostic::in_file(self.file, format!("`{label}` {verb} {shown}, not a boolean"))
                .at(line, None)
                .hint(hint),
        );
    }

    /// `v` as `T`; a shape error that a rendered value caused names that value.
    fn decode<T: DeserializeOwned>(&mut self, v: Value) -> Option<T> {
        let e = match serde_yaml::from_value::<T>(v) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let msg = e.to_string();
        let culprit = self.rendered.iter().find(|(_, out)| {
            let shown = match out {
                Value::String(s) => format!("\"{s}\""),
                other => format!("`{}`", serde_yaml::to_string(other).unwrap_or_default().trim()),
            };
            msg.contains(&shown)
        });
        let d = match culprit {
            Some((label, out)) => {
                let line = find_line(self.text, label.rsplit('.').next().unwrap_or(label));
                let out = crate::data_tests::naming::py_repr(out);
                Diagnostic::in_file(self.file, format!("`{label}` renders to {out}, which it cannot hold: {msg}"))
                    .at(line, None)
            }
            None => match crate::yaml::from_str::<T>(self.text) {
                Err(located) => located.in_file(self.file),
                Ok(_) => Diagnostic::in_file(self.file, format!("invalid yaml once its Jinja is rendered: {msg}")),
            },
        };
        self.errors.push(d);
        None
    }
}

/// A `dbt_project.yml` read as dbt reads it: parsed, rendered with
/// `render` (as written without one), then typed.
pub(crate) fn dbt_project<T: DeserializeOwned + Default>(
    text: &str,
    file: &Path,
    render: Option<&dyn Render>,
    root: bool,
) -> Result<T, Vec<Diagnostic>> {
    let Some(render) = render else {
        return crate::yaml::from_str::<Option<T>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| vec![e.in_file(file)]);
    };
    let mut v: Value =
        crate::yaml::from_str::<Option<Value>>(text).map_err(|e| vec![e.in_file(file)])?.unwrap_or_default();
    let mut pass = Pass { file, text, how: How::Project { render, root }, errors: Vec::new(), rendered: Vec::new() };
    if let Value::Mapping(m) = &mut v {
        for (k, item) in m.iter_mut() {
            let Some(name) = k.as_str().map(str::to_string) else { continue };
            if name == "flags" {
                if root {
                    refuse_jinja_in_flags(&mut pass, item, "flags");
                }
                continue;
            }
            let trees = ["models", "seeds", "snapshots", "data_tests", "tests", "unit_tests", "sources"];
            let in_tree = trees.contains(&name.as_str());
            let enabled_at = move |kp: &[Seg], v: &Value| {
                let last = key(kp, kp.len() - 1);
                in_tree && (last == Some("+enabled") || (last == Some("enabled") && !v.is_mapping()))
            };
            pass.walk(item, &mut vec![Seg::Key(name.clone())], &name, &project_renders, &enabled_at);
        }
    }
    let out = match pass.errors.is_empty() {
        true => pass.decode::<Option<T>>(v).map(Option::unwrap_or_default),
        false => None,
    };
    out.ok_or(pass.errors)
}

/// dbt reads `flags:` before it renders the file, and ignores every flag
/// when one is not of its type: Jinja there would do nothing.
fn refuse_jinja_in_flags(pass: &mut Pass<'_>, v: &Value, label: &str) {
    match v {
        Value::Mapping(m) => {
            for (k, item) in m {
                refuse_jinja_in_flags(pass, item, &format!("{label}.{}", k.as_str().unwrap_or_default()));
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| refuse_jinja_in_flags(pass, i, label)),
        Value::String(s) if has_jinja(s) => {
            let line = pass.line_of(s);
            pass.errors.push(
                Diagnostic::in_file(pass.file, format!("`{label}` holds Jinja, which dbt does not render in `flags:`"))
                    .at(line, None)
                    .hint("dbt reads `flags:` before rendering `dbt_project.yml` (and then ignores every flag); write the value itself"),
            );
        }
        _ => {}
    }
}

/// A property file read as dbt reads it: parsed, each section's entries
/// rendered with `props` (as written without), then typed.
pub(crate) fn properties<T: DeserializeOwned + Default>(
    text: &str,
    file: &Path,
    props: Option<Properties<'_>>,
) -> Result<T, Vec<Diagnostic>> {
    let Some(props) = props else {
        return crate::yaml::from_str::<Option<T>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| vec![e.in_file(file)]);
    };
    let mut v: Value =
        crate::yaml::from_str::<Option<Value>>(text).map_err(|e| vec![e.in_file(file)])?.unwrap_or_default();
    let mut pass = Pass { file, text, how: How::Properties(props), errors: Vec::new(), rendered: Vec::new() };
    if let Value::Mapping(m) = &mut v {
        for (k, section) in m.iter_mut() {
            let (Some(name), Value::Sequence(entries)) = (k.as_str().map(str::to_string), section) else { continue };
            for (i, entry) in entries.iter_mut().enumerate() {
                let label = match entry.get("name").and_then(Value::as_str) {
                    Some(n) => format!("{name}.{n}"),
                    None => format!("{name}[{i}]"),
                };
                let renders = |kp: &[Seg]| schema_renders(&name, kp);
                // `enabled` directly under a `config:` that renders now.
                let enabled_at = |kp: &[Seg], _: &Value| {
                    let n = kp.len();
                    n >= 2 && key(kp, n - 1) == Some("enabled") && key(kp, n - 2) == Some("config") && renders(kp)
                };
                pass.walk(entry, &mut Vec::new(), &label, &renders, &enabled_at);
            }
        }
    }
    let out = match pass.errors.is_empty() {
        true => pass.decode::<Option<T>>(v).map(Option::unwrap_or_default),
        false => None,
    };
    out.ok_or(pass.errors)
}

/// A test's configs as dbt's generic test builder renders them: each
/// top-level string (nested values stay as written); `None` drops the key.
pub(crate) fn test_config(
    config: &mut BTreeMap<String, Value>,
    label: &str,
    file: &Path,
    text: &str,
    props: Properties<'_>,
) -> Vec<Diagnostic> {
    let mut pass = Pass { file, text, how: How::Properties(props), errors: Vec::new(), rendered: Vec::new() };
    let mut dropped = Vec::new();
    for (k, v) in config.iter_mut() {
        let raw = v.as_str().map(str::to_string);
        let child = format!("{label}.{k}");
        pass.render(v, &child);
        if v.is_null() && raw.is_some() {
            dropped.push(k.clone());
        }
        if k == "enabled" && !v.is_bool() {
            pass.not_boolean(&child, raw.as_deref(), v);
        }
    }
    for k in dropped {
        config.remove(&k);
    }
    pass.errors
}

#[cfg(test)]
mod tests;
