//! Finding, rendering and resolving `profiles.yml` into a [`Target`].
//!
//! Owns dbt's lookup order (`--profiles-dir`, `DBT_PROFILES_DIR`, the project
//! directory, `~/.dbt/`) and the Jinja pass with `env_var`. It never opens the
//! database; `path` (and each `attach:` path) is only resolved against the
//! project directory, and the catalog name DuckDB will give the file is
//! derived from its name ([`catalog_name_of`]; `db` opens it under that name).

mod attach;
mod secrets;
pub use attach::{quote, Attachment};
pub use secrets::SecretSql;

use super::env::Env;
use crate::config::find_line;
use crate::config::profile::{RawOutput, RawProfile};
use crate::diag::Diagnostic;
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
    /// `secrets:` as `CREATE SECRET` statements; never shown to templates.
    pub secrets: Vec<SecretSql>,
    /// dbt-duckdb's `external_root` (default `.`): where external models'
    /// files go when they set no `location`.
    pub external_root: String,
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

/// `profiles.yml` with what dbt renders of it rendered: the chosen profile's
/// `target` and that target's output, value by value, with `env_var()` and no
/// other context. Other profiles and targets stay as written, never
/// rendered, so they may use env vars that are not set (as under dbt).
#[derive(Debug)]
pub struct Rendered {
    /// The profile chosen: the one named, else the file's only profile.
    pub profile: Option<String>,
    /// The file as YAML, the chosen output rendered.
    pub yaml: String,
}

fn env_jinja(env: &Env) -> minijinja::Environment<'static> {
    let mut jinja = minijinja::Environment::new();
    // A loop that never ends stops with an error naming the file, as in templates.
    jinja.set_fuel(Some(crate::limits::MAX_INSTRUCTIONS));
    let env = env.clone();
    jinja.add_function("env_var", move |key: String, default: Option<String>| {
        env.get(&key).or(default).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("env var `{key}` is not set and has no default"),
            )
        })
    });
    jinja
}

/// Renders one value as dbt renders profile values (Jinja's native mode): a
/// rendered number or `True`/`False` becomes one; anything else stays text.
fn render_value(
    jinja: &minijinja::Environment<'_>,
    text: &str,
    shown: &Path,
    raw: &str,
) -> Result<serde_yaml::Value, Diagnostic> {
    use serde_yaml::Value;
    let out = jinja.render_str(raw, ()).map_err(|e| {
        let msg = match e.kind() {
            minijinja::ErrorKind::OutOfFuel => crate::limits::out_of_fuel_message(),
            _ => e.detail().map(str::to_string).unwrap_or_else(|| e.to_string()),
        };
        let unset = msg.starts_with("env var");
        let line = raw.lines().next().and_then(|first| find_line(text, first.trim()));
        let d = Diagnostic::in_file(shown, msg).at(line.or(e.line()), None);
        if unset {
            d.hint("set it in the environment or in the project's `.env`, or give `env_var` a default")
        } else {
            d
        }
    })?;
    Ok(match out.trim() {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        t => match (t.parse::<i64>(), t.parse::<f64>()) {
            (Ok(n), _) => Value::Number(n.into()),
            (_, Ok(f)) if t.contains('.') && f.is_finite() => Value::Number(f.into()),
            _ => Value::String(out),
        },
    })
}

fn render_tree(
    jinja: &minijinja::Environment<'_>,
    text: &str,
    shown: &Path,
    v: &mut serde_yaml::Value,
) -> Result<(), Diagnostic> {
    use serde_yaml::Value;
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") || s.contains("{#") => {
            *v = render_value(jinja, text, shown, s)?;
        }
        Value::Sequence(items) => {
            for i in items {
                render_tree(jinja, text, shown, i)?;
            }
        }
        Value::Mapping(m) => {
            for (_, i) in m.iter_mut() {
                render_tree(jinja, text, shown, i)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Renders what dbt renders of `profiles.yml` (see [`Rendered`]): `profile` is
/// the name the DAG or `dbt_project.yml` gives, `target` the one `--target`
/// or the DAG gives (else the profile's own `target`, rendered).
pub fn render(
    text: &str,
    shown: &Path,
    env: &Env,
    profile: Option<&str>,
    target: Option<&str>,
) -> Result<Rendered, Diagnostic> {
    use serde_yaml::Value;
    let mut all: BTreeMap<String, Value> = match crate::yaml::from_str::<Option<_>>(text) {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => return Err(e.in_file(shown)),
    };
    let jinja = env_jinja(env);
    // dbt renders the project's `profile:` too (`"{{ env_var('PROFILE', 'shop') }}"`).
    let named = match profile {
        Some(p) if p.contains("{{") || p.contains("{%") => Some(jinja.render_str(p, ()).map_err(|e| {
            let msg = e.detail().map(str::to_string).unwrap_or_else(|| e.to_string());
            Diagnostic::new(format!("the profile name `{p}` cannot render: {msg}"))
                .hint("`profile:` may use `env_var()`; set the variable or give it a default")
        })?),
        other => other.map(str::to_string),
    };
    let chosen = match named {
        Some(p) => Some(p),
        None => {
            let names: Vec<&String> = all.keys().filter(|k| k.as_str() != "config").collect();
            (names.len() == 1).then(|| names[0].clone())
        }
    };
    if let Some(Value::Mapping(p)) = chosen.as_ref().and_then(|c| all.get_mut(c)) {
        let key = |k: &str| Value::String(k.to_string());
        let own_target = match p.get_mut(key("target")) {
            Some(t) => {
                render_tree(&jinja, text, shown, t)?;
                t.as_str().map(str::to_string)
            }
            None => None,
        };
        let name = target.map(str::to_string).or(own_target).unwrap_or_else(|| "dev".into());
        if let Some(Value::Mapping(outputs)) = p.get_mut(key("outputs")) {
            if let Some(out) = outputs.get_mut(key(&name)) {
                render_tree(&jinja, text, shown, out)?;
            }
        }
    }
    let yaml = serde_yaml::to_string(&all).map_err(|e| Diagnostic::in_file(shown, format!("invalid yaml: {e}")))?;
    Ok(Rendered { profile: chosen, yaml })
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
    let out = raw.outputs.get(&target_name).ok_or_else(|| {
        Diagnostic::in_file(shown, format!("target `{target_name}` not found in profile `{profile}`"))
            .hint(format!("targets: {}", backticked(&outputs)))
    })?;
    // The adapter first: another adapter's keys are not ours to judge.
    let kind = out.get("type").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "duckdb" {
        return Err(Diagnostic::in_file(
            shown,
            format!("target `{target_name}` has type `{kind}`; runner runs only `duckdb`"),
        )
        .at(find_line(source_text, &format!("{target_name}:")), None));
    }
    let out: RawOutput = serde_yaml::from_value(out.clone()).map_err(|e| {
        Diagnostic::in_file(shown, format!("target `{target_name}`: {e}"))
            .at(find_line(source_text, &format!("{target_name}:")), None)
    })?;
    let out = &out;
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
        None => catalog_name_of(&path).unwrap_or("main").to_string(),
    };
    let threads = match out.threads {
        None => 1,
        Some(n) if n >= 1 => n as usize,
        Some(n) => {
            return Err(Diagnostic::in_file(shown, format!("`threads` must be at least 1, found {n}"))
                .at(find_line(source_text, "threads:"), None));
        }
    };
    // dbt-duckdb features that need its Python side: said, not silently skipped.
    let python_only = [
        ("plugins", out.plugins.is_some(), "dbt-duckdb's Python plugins"),
        ("module_paths", out.module_paths.is_some(), "Python module paths for plugins"),
        ("filesystems", out.filesystems.is_some(), "fsspec filesystems"),
    ];
    if let Some((key, _, what)) = python_only.iter().find(|(_, set, _)| *set) {
        return Err(Diagnostic::in_file(
            shown,
            format!("target `{target_name}`: `{key}` ({what}) is not supported by runner"),
        )
        .at(find_line(source_text, &format!("{key}:")), None)
        .hint("remove it; for S3 or HTTP credentials use `secrets:`"));
    }
    let mut secrets = match &out.secrets {
        Some(v) => secrets::parse(v).map_err(|e| {
            Diagnostic::in_file(shown, format!("target `{target_name}`: {e}"))
                .at(find_line(source_text, "secrets:"), None)
        })?,
        None => Vec::new(),
    };
    // dbt-duckdb's older spelling of an S3 credential-chain secret.
    if let Some(provider) = &out.use_credential_provider {
        let secret = secrets::credential_provider(provider, secrets.len()).map_err(|e| {
            Diagnostic::in_file(shown, format!("target `{target_name}`: {e}"))
                .at(find_line(source_text, "use_credential_provider:"), None)
        })?;
        secrets.push(secret);
    }
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
        secrets,
        external_root: out.external_root.clone().unwrap_or_else(|| ".".into()),
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

/// The catalog name DuckDB gives a database file it opens: the file name up
/// to its first dot (`shop.dev.duckdb` is `shop`). Planning names relations
/// with it before the file is open.
pub fn catalog_name_of(path: &Path) -> Option<&str> {
    path.file_name().and_then(|s| s.to_str()).and_then(|n| n.split('.').next()).filter(|n| !n.is_empty())
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
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[]), None, None).expect("renders").yaml;
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
        let out =
            render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "data/w.duckdb")]), None, None)
                .expect("renders")
                .yaml;
        let t =
            resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/proj")).expect("resolves").0;
        assert_eq!(t.path, PathBuf::from("/proj/data/w.duckdb"));
        assert_eq!(t.database, "w");
        let out =
            render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "shop.dev.duckdb")]), None, None)
                .expect("renders")
                .yaml;
        let t =
            resolve(&out, Path::new("profiles.yml"), PROFILES, "shop", None, Path::new("/proj")).expect("resolves").0;
        assert_eq!(t.database, "shop", "DuckDB's catalog is the name up to the first dot");
    }

    #[test]
    fn env_var_without_default_is_an_error_naming_it() {
        let text =
            "p:\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('RUNNER_T_NEVER_SET') }}\"\n";
        let d = render(text, Path::new("profiles.yml"), &env(&[]), None, None).expect_err("unset");
        assert!(d.message.contains("`RUNNER_T_NEVER_SET`"), "{}", d.message);
        assert_eq!(d.line, Some(5));
    }

    #[test]
    fn an_empty_database_path_says_so_and_names_the_variable() {
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[("RUNNER_T_DB_PATH", "")]), None, None)
            .expect("renders")
            .yaml;
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
        let out = render(PROFILES, Path::new("profiles.yml"), &env(&[]), None, None).expect("renders").yaml;
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

    #[test]
    fn a_profile_name_with_jinja_is_rendered() {
        let shown = Path::new("profiles.yml");
        let named = Some("{{ env_var('RUNNER_T_PROFILE_UNSET', 'shop') }}");
        let r = render(PROFILES, shown, &env(&[]), named, None).expect("renders");
        assert_eq!(r.profile.as_deref(), Some("shop"));
        let unset = render(PROFILES, shown, &env(&[]), Some("{{ env_var('RUNNER_T_PROFILE_UNSET') }}"), None);
        assert!(unset.is_err_and(|e| e.message.contains("RUNNER_T_PROFILE_UNSET")));
    }

    #[test]
    fn only_the_selected_profile_and_target_are_rendered_and_read() {
        // As under dbt: other targets may use unset env vars and another adapter's keys.
        let text = "config:\n  send_anonymous_usage_stats: false\nshop:\n  target: \"{{ env_var('RUNNER_T_TARGET', 'dev') }}\"\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('RUNNER_T_DB', 'w.duckdb') }}\"\n      threads: \"{{ env_var('RUNNER_T_THREADS', '3') }}\"\n    prod:\n      type: snowflake\n      account: \"{{ env_var('SNOWFLAKE_ACCOUNT') }}\"\n      warehouse: wh\nother:\n  outputs:\n    dev:\n      type: postgres\n      password: \"{{ env_var('PG_PASSWORD') }}\"\n";
        let shown = Path::new("profiles.yml");
        let r = render(text, shown, &env(&[]), Some("shop"), None).expect("renders");
        assert_eq!(r.profile.as_deref(), Some("shop"));
        let (t, _) = resolve(&r.yaml, shown, text, "shop", None, Path::new("/p")).expect("resolves");
        assert_eq!((t.name.as_str(), t.threads), ("dev", 3), "a rendered number is a number");
        assert_eq!(t.path, PathBuf::from("/p/w.duckdb"));
        // The profile's own `target:` is rendered too.
        let r = render(text, shown, &env(&[("RUNNER_T_TARGET", "prod")]), Some("shop"), None).expect_err("unset");
        assert!(r.message.contains("`SNOWFLAKE_ACCOUNT`"), "{}", r.message);
        assert_eq!(r.line, Some(12));
        let r = render(text, shown, &env(&[("SNOWFLAKE_ACCOUNT", "x")]), Some("shop"), Some("prod")).expect("renders");
        let d = resolve(&r.yaml, shown, text, "shop", Some("prod"), Path::new("/p")).expect_err("snowflake");
        assert!(d.message.contains("type `snowflake`"), "{}", d.message);
        // With two profiles none is chosen by itself.
        assert_eq!(render(text, shown, &env(&[]), None, None).expect("renders").profile, None);
    }
}
