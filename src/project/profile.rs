//! Finding, rendering and resolving `profiles.yml` into a [`Target`].
//!
//! Owns dbt's lookup order (`--profiles-dir`, `DBT_PROFILES_DIR`, the project
//! directory, `~/.dbt/`) and the Jinja pass with `env_var`. It never opens the
//! database; `path` (and each `attach:` path) is only resolved against the
//! project directory.

mod attach;
pub use attach::{quote, Attachment};

use super::env::Env;
use crate::config::find_line;
use crate::config::profile::{RawOutput, RawProfile};
use crate::error::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The resolved connection target: what `target` means in Jinja.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub profile_name: String,
    pub name: String,
    pub kind: String,
    /// Absolute path of the database file (or `:memory:`).
    pub path: PathBuf,
    /// DuckDB's catalog name for the file: its stem, as DuckDB names it.
    pub database: String,
    pub schema: String,
    /// Nodes at once (dbt's profile `threads`), not DuckDB's `threads` setting.
    pub threads: usize,
    /// DuckDB settings applied to every connection (`settings:`).
    pub settings: BTreeMap<String, String>,
    pub extensions: Vec<String>,
}

pub fn find_profiles(cli_dir: Option<&Path>, project_dir: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = cli_dir {
        // An explicit directory is the only place to look: silently falling
        // back elsewhere would run against the wrong database.
        return Some(d.join("profiles.yml"));
    }
    if let Ok(d) = std::env::var("DBT_PROFILES_DIR") {
        candidates.push(PathBuf::from(d).join("profiles.yml"));
    }
    candidates.push(project_dir.join("profiles.yml"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".dbt").join("profiles.yml"));
    }
    candidates.into_iter().find(|p| p.exists())
}

/// Renders the profiles text with `env_var()` and no other context.
pub fn render(text: &str, shown: &Path, env: &Env) -> Result<String, Diagnostic> {
    let mut jinja = minijinja::Environment::new();
    let env = env.clone();
    jinja.add_function("env_var", move |key: String, default: Option<String>| {
        env.get(&key).or(default).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("env var `{key}` is not set and has no default"),
            )
        })
    });
    jinja.render_str(text, ()).map_err(|e| {
        let msg = e.detail().map(str::to_string).unwrap_or_else(|| e.to_string());
        let unset = msg.starts_with("env var");
        let d = Diagnostic::in_file(shown, msg).at(e.line(), None);
        if unset {
            d.hint("set it in the environment or in the project's `.env`, or give `env_var` a default")
        } else {
            d
        }
    })
}

/// Resolves `profile.target` from a rendered `profiles.yml`, with the
/// output's `attach:` list. The attachments stay beside the [`Target`] rather
/// than in it: `Target` is what templates and artifacts see, and they do not
/// need them.
pub fn resolve(
    rendered: &str,
    shown: &Path,
    source_text: &str,
    profile: &str,
    target: Option<&str>,
    project_dir: &Path,
) -> Result<(Target, Vec<Attachment>), Diagnostic> {
    let mut all: BTreeMap<String, serde_yaml::Value> = crate::yaml::from_str(rendered).map_err(|e| e.in_file(shown))?;
    // dbt allows a global `config:` block beside the profiles.
    all.remove("config");
    let names: Vec<String> = all.keys().cloned().collect();
    let raw = all.remove(profile).ok_or_else(|| {
        Diagnostic::in_file(shown, format!("profile `{profile}` not found"))
            .hint(format!("profiles in this file: {}", backticked(&names)))
    })?;
    let raw: RawProfile = serde_yaml::from_value(raw).map_err(|e| {
        Diagnostic::in_file(shown, format!("profile `{profile}`: {e}"))
            .at(find_line(source_text, &format!("{profile}:")), None)
    })?;
    let target_name = target.map(str::to_string).or(raw.target.clone()).unwrap_or_else(|| "dev".into());
    let outputs: Vec<String> = raw.outputs.keys().cloned().collect();
    let out: &RawOutput = raw.outputs.get(&target_name).ok_or_else(|| {
        Diagnostic::in_file(shown, format!("target `{target_name}` not found in profile `{profile}`"))
            .hint(format!("targets: {}", backticked(&outputs)))
    })?;
    if out.kind != "duckdb" {
        return Err(Diagnostic::in_file(
            shown,
            format!("target `{target_name}` has type `{}`; runner runs only `duckdb`", out.kind),
        ));
    }
    let raw_path = out.path.clone().unwrap_or_else(|| ":memory:".into());
    if raw_path.trim().is_empty() {
        // `project_dir.join("")` is the project itself: DuckDB would say "Is a directory".
        let line = find_line(source_text, "path:");
        let read_var = line.and_then(|l| source_text.lines().nth(l - 1)).and_then(env_var_named);
        let hint = match read_var {
            Some(var) => {
                format!("`{var}` is set to an empty value: set it to a file such as `shop.duckdb`, or unset it")
            }
            None => "set `path:` to a file such as `shop.duckdb` (relative to the project)".to_string(),
        };
        return Err(Diagnostic::in_file(shown, format!("the database path of target `{target_name}` is empty"))
            .at(line, None)
            .hint(hint));
    }
    let path = if raw_path == ":memory:" { PathBuf::from(":memory:") } else { project_dir.join(&raw_path) };
    let database = match &out.database {
        Some(d) => d.clone(),
        None if raw_path == ":memory:" => "memory".into(),
        None => crate::db::catalog_name_of(&path).unwrap_or("main").to_string(),
    };
    let threads = match out.threads {
        None => 1,
        Some(n) if n >= 1 => n as usize,
        Some(n) => {
            return Err(Diagnostic::in_file(shown, format!("`threads` must be at least 1, found {n}"))
                .at(find_line(source_text, "threads:"), None));
        }
    };
    let settings = out.settings.iter().flatten().map(|(k, v)| (k.clone(), scalar_text(v))).collect();
    let extensions = out.extensions.iter().flatten().map(scalar_text).collect();
    let attachments = out
        .attach
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, raw)| {
            attach::parse(i, raw.clone(), project_dir).map_err(|e| {
                Diagnostic::in_file(shown, format!("target `{target_name}`: {e}"))
                    .at(find_line(source_text, "attach:"), None)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let target = Target {
        profile_name: profile.to_string(),
        name: target_name,
        kind: out.kind.clone(),
        path,
        database,
        schema: out.schema.clone().unwrap_or_else(|| "main".into()),
        threads,
        settings,
        extensions,
    };
    Ok((target, attachments))
}

/// The variable an `env_var('NAME'…)` on a line reads.
fn env_var_named(line: &str) -> Option<&str> {
    let rest = &line[line.find("env_var(")? + "env_var(".len()..];
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    rest.find(quote).map(|end| &rest[..end])
}

fn scalar_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn backticked(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILES: &str = "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('RUNNER_T_DB_PATH', 'default.duckdb') }}\"\n      threads: 4\n      settings:\n        threads: 2\n";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn env_var_default_applies_when_unset() {
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[])).expect("renders");
        let t =
            resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/proj")).expect("resolves").0;
        assert_eq!(t.path, PathBuf::from("/proj/default.duckdb"));
        assert_eq!(t.database, "default");
        assert_eq!(t.threads, 4);
        assert_eq!(t.schema, "main");
        assert_eq!(t.settings.get("threads").map(String::as_str), Some("2"));
    }

    #[test]
    fn env_var_value_wins_over_default() {
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "data/w.duckdb")]))
            .expect("renders");
        let t =
            resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/proj")).expect("resolves").0;
        assert_eq!(t.path, PathBuf::from("/proj/data/w.duckdb"));
        assert_eq!(t.database, "w");
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "shop.dev.duckdb")]))
            .expect("renders");
        let t =
            resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/proj")).expect("resolves").0;
        assert_eq!(t.database, "shop", "DuckDB's catalog is the name up to the first dot");
    }

    #[test]
    fn env_var_without_default_is_an_error_naming_it() {
        let text =
            "p:\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('RUNNER_T_NEVER_SET') }}\"\n";
        let d = render(text, Path::new("profiles.yml"), &env(&[])).expect_err("unset");
        assert!(d.message.contains("`RUNNER_T_NEVER_SET`"), "{}", d.message);
        assert_eq!(d.line, Some(5));
    }

    #[test]
    fn an_empty_database_path_says_so_and_names_the_variable() {
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "")])).expect("renders");
        let d = resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/p")).expect_err("empty");
        assert_eq!(d.message, "the database path of target `dev` is empty");
        assert_eq!(d.line, Some(6));
        assert!(d.hint.as_deref().is_some_and(|h| h.starts_with("`RUNNER_T_DB_PATH` is set to an empty value")));
        let plain = "p:\n  outputs:\n    dev:\n      type: duckdb\n      path: ''\n";
        let d = resolve(plain, Path::new("profiles.yml"), plain, "p", None, Path::new("/p")).expect_err("empty");
        assert!(d.hint.as_deref().is_some_and(|h| h.starts_with("set `path:`")), "{:?}", d.hint);
    }

    #[test]
    fn unknown_profile_and_target_list_the_choices() {
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[])).expect("renders");
        let d = resolve(&out, Path::new("profiles.yml"), PROFILES, "nope", None, Path::new("/p")).expect_err("profile");
        assert_eq!(d.hint.as_deref(), Some("profiles in this file: `shop`"));
        let d = resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", Some("prod"), Path::new("/p"))
            .expect_err("target");
        assert_eq!(d.hint.as_deref(), Some("targets: `dev`"));
    }

    #[test]
    fn attach_entries_resolve_in_order_and_errors_point_at_attach() {
        let text = "p:\n  outputs:\n    dev:\n      type: duckdb\n      path: w.duckdb\n      attach:\n        - path: raw/a.duckdb\n          read_only: true\n        - {path: b.db, alias: bee}\n";
        let (t, a) = resolve(text, Path::new("profiles.yml"), text, "p", None, Path::new("/proj")).expect("resolves");
        assert_eq!(t.database, "w");
        let got: Vec<(&str, &str, bool)> = a.iter().map(|a| (a.path.as_str(), a.alias.as_str(), a.read_only)).collect();
        assert_eq!(got, vec![("/proj/raw/a.duckdb", "a", true), ("/proj/b.db", "bee", false)]);
        let bad = text.replace("alias: bee", "alias: bee, mode: x");
        let d = resolve(&bad, Path::new("profiles.yml"), &bad, "p", None, Path::new("/proj")).expect_err("typo");
        assert!(d.message.starts_with("target `dev`: `attach[1]`: unknown field `mode`"), "{}", d.message);
        assert_eq!((d.file.as_deref(), d.line), (Some(Path::new("profiles.yml")), Some(6)));
    }
}
