//! `runner import cosmos`: a cosmos `DbtDag` (or a `DAG` holding a
//! `DbtTaskGroup`) read statically into runner's YAML DAG.
//!
//! Owns finding the DAGs in a file and assembling their YAML; the mapping of
//! each keyword argument lives in `translate`. The file is tokenized, parsed
//! and evaluated by `pytoken`, `pyparse` and `pyeval` — never run, so
//! nothing in it executes and what it computes at import time is reported,
//! not guessed. Writes no file itself (`app` does).

use super::pyeval::{self, Call, Value};
use super::translate::Dag as Translated;
use crate::diag::Diagnostic;
use std::path::Path;

/// One DAG read from the file.
#[derive(Debug)]
pub(crate) struct Imported {
    pub dag_id: String,
    /// The DAG file's text, ready to write as `<dag_id>.yml`.
    pub yaml: String,
    /// What could not be translated, with the Python file's lines.
    pub warnings: Vec<Diagnostic>,
}

/// Reads `text` (the file `shown`, at `file`); every DAG it builds, or the
/// errors that stop the import (exit 2).
pub(crate) fn import(file: &Path, shown: &Path, text: &str) -> Result<Vec<Imported>, Vec<Diagnostic>> {
    let hint =
        "`runner import cosmos` reads a Python file that builds a cosmos `DbtDag`, or a `DAG` holding a `DbtTaskGroup`";
    let tokens = crate::pytoken::tokenize(text).map_err(|(line, msg)| {
        vec![Diagnostic::in_file(shown, format!("not a Python file runner can read: {msg}"))
            .at(Some(line), None)
            .hint(hint)]
    })?;
    let stmts = super::pyparse::parse(text, &tokens.lines);
    let module = pyeval::evaluate(file, &stmts);
    let kept = runner_comments(&tokens.comments);
    let mut seen = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for built in &module.built {
        let Value::Call(call) = &built.value else { continue };
        if !seen.insert(call.line) {
            continue;
        }
        match call.name() {
            "DbtDag" => found.push(((**call).clone(), None)),
            "DbtTaskGroup" => {
                let dag =
                    call.kwarg("dag").cloned().or_else(|| built.contexts.iter().rev().find(|c| is_dag(c)).cloned());
                match dag {
                    Some(Value::Call(d)) if is_dag(&Value::Call(d.clone())) => {
                        found.push(((*d).clone(), Some((**call).clone())))
                    }
                    _ => {
                        return Err(vec![Diagnostic::in_file(shown, "a `DbtTaskGroup` outside any `DAG`")
                            .at(Some(call.line), None)
                            .hint(
                                "put it in a `with DAG(...):` block, or pass `dag=` a `DAG(...)` built in the file",
                            )])
                    }
                }
            }
            _ => {}
        }
    }
    if found.is_empty() {
        return Err(vec![Diagnostic::in_file(
            shown,
            "not a cosmos DAG: no `DbtDag(...)` or `DbtTaskGroup(...)` is built at module level",
        )
        .hint(hint)]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (dag, group) in found {
        let mut t = Translated::new(shown, file.parent().unwrap_or(Path::new(".")));
        t.read(&dag, group.as_ref(), &kept);
        match t.finish() {
            Ok((dag_id, yaml, warnings)) => out.push(Imported { dag_id, yaml: header(shown) + &yaml, warnings }),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Two DAGs with one id would write one file twice.
    for (i, a) in out.iter().enumerate() {
        if out[..i].iter().any(|b| b.dag_id == a.dag_id) {
            return Err(vec![Diagnostic::in_file(shown, format!("two DAGs have the id `{}`", a.dag_id))
                .hint("give each its own `dag_id`")]);
        }
    }
    Ok(out)
}

fn is_dag(v: &Value) -> bool {
    matches!(v, Value::Call(c) if c.name() == "DAG")
}

fn header(shown: &Path) -> String {
    format!("# Imported from `{}` by `runner import cosmos`.\n", shown.display())
}

/// Keys with no Airflow equivalent that `runner export airflow` keeps as
/// `# runner: key: value` comments, so they survive the round trip.
pub(crate) const KEPT_PREFIX: &str = " runner: ";

fn runner_comments(comments: &[(usize, String)]) -> Vec<(usize, String, serde_yaml::Value)> {
    comments
        .iter()
        .filter_map(|(line, text)| {
            let (key, value) = text.strip_prefix(KEPT_PREFIX)?.split_once(':')?;
            let value = crate::yaml::from_str::<serde_yaml::Value>(value.trim()).ok()?;
            Some((*line, key.trim().to_string(), value))
        })
        .collect()
}

/// The callee of a call value, for messages.
pub(crate) fn what(v: &Value) -> String {
    match v {
        Value::Call(c) => format!("`{}(…)`", c.callee),
        Value::Ref(r) => format!("`{r}`"),
        Value::Str(s) => format!("`{s:?}`"),
        Value::Int(i) => format!("`{i}`"),
        Value::Bool(b) => format!("`{}`", if *b { "True" } else { "False" }),
        Value::None => "`None`".into(),
        Value::List(_) => "a list".into(),
        Value::Dict(_) => "a dict".into(),
        Value::DateTime(..) => "a datetime".into(),
        Value::Delta(_) => "a timedelta".into(),
        Value::Path(p) => format!("`Path({:?})`", p.display().to_string()),
        Value::Zone(z) => format!("the time zone `{z}`"),
        Value::Float(f) => format!("`{f}`"),
        Value::Unknown(w) => w.clone(),
    }
}

/// A call's keyword arguments, for the translator.
pub(crate) fn kwargs(c: &Call) -> impl Iterator<Item = (&str, &Value, usize)> {
    c.kwargs.iter().map(|(k, v, l)| (k.as_str(), v, *l))
}
