//! cosmos' config objects (`ProjectConfig`, `ProfileConfig`, `RenderConfig`,
//! `ExecutionConfig`) and `operator_args`, mapped onto runner's DAG keys.
//!
//! Part of the translator (an `impl` of its `Dag`), kept apart for size.

use super::{what, Dag, HARMLESS};
use crate::airflow::import::kwargs;
use crate::airflow::pyeval::{Call, Value};
use serde_yaml::Value as Y;
use std::path::{Path, PathBuf};

impl Dag<'_> {
    pub(super) fn project_config(&mut self, c: &Call) {
        for (k, v, line) in kwargs(c) {
            match (k, v) {
                ("dbt_project_path", Value::Str(_) | Value::Path(_)) => self.project_dir(v, line),
                ("dbt_vars", Value::Dict(pairs)) => self.vars(pairs, line),
                ("env_vars", Value::Dict(pairs)) => {
                    for (name, _) in pairs {
                        let name = what(name);
                        self.warn_hint(line, format!("`env_vars` {name} not translated: runner reads environment variables from the process and the project's `.env`"), "add it to `.env` if the profile or a model reads it");
                    }
                }
                (k, _) if HARMLESS.contains(&k) => {}
                (k, v) => self.nested_key(c, k, v, line),
            }
        }
    }

    pub(super) fn project_dir(&mut self, v: &Value, line: usize) {
        let path = match v {
            Value::Str(s) => PathBuf::from(s),
            Value::Path(p) => p.clone(),
            other => return self.untranslated(line, "dbt_project_path", other),
        };
        let path = if path.is_relative() { self.dir.join(path) } else { path };
        if !path.join("dbt_project.yml").exists() {
            self.warn_hint(
                line,
                format!("`dbt_project_path` `{}` holds no `dbt_project.yml` on this machine", path.display()),
                "set `project_dir` in the DAG file to where the project is here",
            );
        }
        self.set("project_dir", Y::String(path.display().to_string()));
    }

    pub(super) fn profile_config(&mut self, c: &Call) {
        if let Some((_, mapping, line)) = c.kwargs.iter().find(|(k, _, _)| k == "profile_mapping") {
            // The profile is built by cosmos from an Airflow connection: naming it
            // would point runner at a profile that no profiles.yml holds.
            let msg = format!(
                "`profile_mapping` {} not translated: runner reads `profiles.yml`, and without `profile` the DAG uses the project's profile",
                what(mapping)
            );
            self.warn_hint(
                *line,
                msg,
                "write the connection as a profile in `profiles.yml`, then set `profile:` and `target:`",
            );
            return;
        }
        for (k, v, line) in kwargs(c) {
            match (k, v) {
                ("profile_name", Value::Str(s)) => self.set("profile", Y::String(s.clone())),
                ("target_name", Value::Str(s)) => self.set("target", Y::String(s.clone())),
                ("profiles_yml_filepath", Value::Str(_) | Value::Path(_)) => {
                    let path = match v {
                        Value::Path(p) => p.display().to_string(),
                        Value::Str(s) => s.clone(),
                        _ => String::new(),
                    };
                    let beside = self
                        .keys
                        .get("project_dir")
                        .and_then(Y::as_str)
                        .is_some_and(|d| Path::new(d).join("profiles.yml") == Path::new(&path));
                    if !beside {
                        let dir = Path::new(&path).parent().map(|p| p.display().to_string()).unwrap_or_default();
                        self.warn_hint(line, format!("`profiles_yml_filepath` `{path}`: runner finds `profiles.yml` in the project, `--profiles-dir` or `DBT_PROFILES_DIR`"), &format!("run with `--profiles-dir {dir}`"));
                    }
                }
                (k, v) => self.nested_key(c, k, v, line),
            }
        }
    }

    pub(super) fn render_config(&mut self, c: &Call) {
        for (k, v, line) in kwargs(c) {
            match (k, v) {
                ("select" | "exclude", Value::Str(s)) => {
                    let key = if k == "select" { "select" } else { "exclude" };
                    self.set(key, Y::Sequence(s.split_whitespace().map(|s| Y::String(s.into())).collect()));
                }
                ("select" | "exclude", Value::List(items)) => {
                    let key = if k == "select" { "select" } else { "exclude" };
                    match items
                        .iter()
                        .map(|i| if let Value::Str(s) = i { Some(Y::String(s.clone())) } else { None })
                        .collect()
                    {
                        Some(list) => self.set(key, Y::Sequence(list)),
                        None => self.untranslated(line, key, v),
                    }
                }
                ("test_behavior", Value::Ref(r) | Value::Str(r)) => {
                    let name = r.rsplit('.').next().unwrap_or(r).to_ascii_lowercase();
                    match name.as_str() {
                        "none" | "after_each" | "after_all" | "build" => self.set("test_behavior", Y::String(name)),
                        _ => self.error(
                            line,
                            "test_behavior",
                            format!("unknown value `{r}`"),
                            "use `TestBehavior.NONE`, `AFTER_EACH`, `AFTER_ALL` or `BUILD`",
                        ),
                    }
                }
                (k, v) => self.nested_key(c, k, v, line),
            }
        }
    }

    pub(super) fn operator_args(&mut self, pairs: &[(Value, Value)], line: usize) {
        for (k, v) in pairs {
            match (k, v) {
                (Value::Str(k), Value::Dict(vars)) if k == "vars" => self.vars(vars, line),
                (Value::Str(k), _) if HARMLESS.contains(&k.as_str()) => {}
                (k, _) => self.warn(
                    line,
                    format!("`operator_args[{}]` has no runner equivalent; not translated", what(k).trim_matches('`')),
                ),
            }
        }
    }

    /// Keyword arguments of a config object other than `skip`, each a warning.
    pub(super) fn nested(&mut self, c: &Call, skip: &[&str]) {
        for (k, v, line) in kwargs(c) {
            if !skip.contains(&k) {
                self.nested_key(c, k, v, line);
            }
        }
        if let Some(v) = c.kwarg("dbt_project_path") {
            self.project_dir(v, c.line);
        }
    }

    pub(super) fn nested_key(&mut self, c: &Call, k: &str, v: &Value, line: usize) {
        if HARMLESS.contains(&k) {
            return;
        }
        match v {
            Value::Unknown(_) => self.untranslated(line, &format!("{}({k}=…)", c.name()), v),
            _ => self.warn(line, format!("`{}({k}=…)` has no runner equivalent; not translated", c.name())),
        }
    }

    pub(super) fn vars(&mut self, pairs: &[(Value, Value)], line: usize) {
        let m = self.mapping("vars", pairs, line);
        let mut merged = self.keys.get("vars").and_then(Y::as_mapping).cloned().unwrap_or_default();
        merged.extend(m);
        self.set("vars", Y::Mapping(merged));
    }
}
