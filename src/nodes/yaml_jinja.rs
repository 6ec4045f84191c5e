//! Jinja in the YAML that configures nodes, rendered once before planning, as
//! dbt renders it while parsing: the `models:`, `seeds:`, `snapshots:`,
//! `data_tests:` and `unit_tests:` trees of every `dbt_project.yml`, the
//! `config:` of every property entry (models, their versions, seeds,
//! snapshots, tests) and the `database`, `schema` and `identifier` of sources.
//!
//! Hooks are left as written: dbt renders them when they run, and so does
//! runner. Descriptions and test arguments are rendered where they are used
//! (docs, the generic test's SQL). Every value that fails to render, and an
//! `enabled` that does not render to a boolean (dbt's "is not of type
//! 'boolean'"), is an error naming the file and the key, so no `{{ … }}`
//! ever reaches a relation name. This owns which values are rendered;
//! `template::yaml_value` owns how one renders. It reads no files.

use crate::diag::Diagnostic;
use crate::project::{NodeProps, Project};
use crate::template::{has_jinja, Templates};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Config keys rendered when they run, not while parsing.
const LATE: &[&str] = &["pre-hook", "post-hook", "pre_hook", "post_hook"];

/// Renders every project's YAML values in place; the errors, in project order.
pub fn render(project: &mut Project, templates: &Templates) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    render_project(project, None, templates, &mut errors);
    for p in &mut project.packages {
        render_project(&mut p.project, Some(&p.name), templates, &mut errors);
    }
    errors
}

/// Where a value is and how it renders.
struct At<'a> {
    templates: &'a Templates,
    scope: Option<&'a str>,
    project_file: bool,
    file: &'a Path,
    line: Option<usize>,
}

fn render_project(p: &mut Project, scope: Option<&str>, templates: &Templates, errors: &mut Vec<Diagnostic>) {
    let file = p.dir.join("dbt_project.yml");
    let at = At { templates, scope, project_file: true, file: &file, line: None };
    let trees = [
        ("models", &mut p.model_tree),
        ("seeds", &mut p.seed_tree),
        ("snapshots", &mut p.snapshot_tree),
        ("data_tests", &mut p.test_tree),
        ("unit_tests", &mut p.unit_test_tree),
    ];
    for (section, tree) in trees {
        if let Some(tree) = tree {
            at.walk(tree, section, errors);
        }
    }
    let props = p
        .model_props
        .values_mut()
        .chain(p.seed_props.values_mut())
        .chain(p.snapshot_props.values_mut())
        .chain(p.versions.declared.iter_mut().map(|d| &mut d.props));
    for props in props {
        render_props(props, templates, scope, errors);
    }
    for t in &mut p.tests {
        let at = At { templates, scope, project_file: false, file: &t.file, line: t.line };
        at.config(&mut t.config, errors);
    }
    for s in p.sources.values_mut() {
        let (file, line) = (s.file.clone(), s.line);
        let at = At { templates, scope, project_file: false, file: &file, line };
        let label = format!("sources.{}.tables.{}", s.source, s.table);
        if let Some(db) = &mut s.database {
            at.text(db, &format!("{label}.database"), errors);
        }
        at.text(&mut s.schema, &format!("{label}.schema"), errors);
        at.text(&mut s.identifier, &format!("{label}.identifier"), errors);
    }
}

fn render_props(props: &mut NodeProps, templates: &Templates, scope: Option<&str>, errors: &mut Vec<Diagnostic>) {
    let file: PathBuf = props.file.clone();
    let at = At { templates, scope, project_file: false, file: &file, line: props.line };
    at.config(&mut props.config, errors);
}

impl At<'_> {
    /// A property entry's `config:` (hooks left for their run).
    fn config(&self, config: &mut std::collections::BTreeMap<String, Value>, errors: &mut Vec<Diagnostic>) {
        for (key, v) in config.iter_mut() {
            if !LATE.contains(&key.as_str()) {
                self.walk(v, &format!("config.{key}"), errors);
            }
        }
    }

    /// Every string under `v`, `path` naming it (`models.shop.+schema`).
    fn walk(&self, v: &mut Value, path: &str, errors: &mut Vec<Diagnostic>) {
        match v {
            Value::Mapping(m) => {
                for (k, item) in m.iter_mut() {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => super::yaml_scalar(other),
                    };
                    if LATE.contains(&key.trim_start_matches('+')) {
                        continue;
                    }
                    self.walk(item, &format!("{path}.{key}"), errors);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(item, &format!("{path}[{i}]"), errors);
                }
            }
            Value::String(s) if has_jinja(s) => {
                match self.templates.render_yaml_value(self.scope, self.project_file, s) {
                    Ok(out) => {
                        let leaf = path.rsplit('.').next().unwrap_or(path).trim_start_matches('+');
                        if leaf == "enabled" && !out.is_bool() {
                            errors.push(self.error(path, format!("renders to `{}`, not a boolean", super::yaml_scalar(&out)))
                            .hint("write an expression that is true or false, e.g. `{{ env_var('X', 'true') == 'true' }}`"));
                        }
                        *v = out;
                    }
                    Err(e) => errors.push(self.error(path, format!("cannot render: {e}"))),
                }
            }
            _ => {}
        }
    }

    /// A value that must stay text (a relation's name part).
    fn text(&self, s: &mut String, path: &str, errors: &mut Vec<Diagnostic>) {
        if !has_jinja(s) {
            return;
        }
        match self.templates.render_yaml_value(self.scope, self.project_file, s) {
            Ok(Value::String(out)) => *s = out,
            Ok(other) => *s = super::yaml_scalar(&other),
            Err(e) => errors.push(self.error(path, format!("cannot render: {e}"))),
        }
    }

    fn error(&self, path: &str, message: String) -> Diagnostic {
        Diagnostic::in_file(self.file, format!("`{path}` {message}")).at(self.line, None)
    }
}

#[cfg(test)]
mod tests;
