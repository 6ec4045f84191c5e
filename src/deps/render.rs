//! `packages.yml` (and `package-lock.yml`) rendered as dbt renders them:
//! every string value holding Jinja, with `env_var` (secret `DBT_ENV_SECRET_…`
//! variables allowed, as in `profiles.yml`) and `var` (the command line's
//! `--vars` only: project vars are not known yet). `dependencies.yml` is
//! never rendered, as in dbt.
//!
//! What the lock records of a rendered entry follows `dbt deps`: a git or
//! tarball URL as written (`{{ env_var('…') }}` kept, any secret value
//! written literally masked), other fields as rendered; runner also keeps a
//! field as written whenever its rendering read a secret, where dbt would
//! write the secret's value (a `local:` path) into a file others read.
//! Renders only; resolving and installing is the parent module's.

use crate::project::env::Env;
use crate::project::packages::RenderEntry;
pub(crate) use crate::project::packages::Written;
use crate::secrets;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Renders package entries for one `runner deps`.
pub(crate) struct Renderer {
    env: Env,
    vars: BTreeMap<String, Value>,
}

/// Fields dbt writes to the lock as written, not as rendered.
const KEPT_AS_WRITTEN: &[&str] = &["git", "tarball"];

impl Renderer {
    pub(crate) fn new(env: Env, vars: BTreeMap<String, Value>) -> Renderer {
        Renderer { env, vars }
    }

    /// The values of the secret env vars, to mask in messages.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        self.env.values_with_prefix(secrets::PREFIX)
    }

    /// One entry rendered, and what the lock writes instead of some rendered
    /// fields; an error is the Jinja's (an unset variable, bad syntax).
    pub(crate) fn entry(&self, raw: &Value) -> Result<(Value, Written), String> {
        let Value::Mapping(m) = raw else { return Ok((raw.clone(), Written::new())) };
        let mut out = serde_yaml::Mapping::new();
        let mut written = Written::new();
        let secret_values = self.env.values_with_prefix(secrets::PREFIX);
        for (k, v) in m {
            let key = k.as_str().unwrap_or_default().to_string();
            let (rendered, secret) = self.value(v)?;
            if let Value::String(text) = v {
                let keep = secret || KEPT_AS_WRITTEN.contains(&key.as_str());
                let shown = match (&rendered, keep) {
                    (_, true) => text.clone(),
                    (Value::String(r), false) => r.clone(),
                    (_, false) => text.clone(),
                };
                // A secret's value written out literally is masked, as dbt scrubs it.
                let masked = secrets::scrub(&shown, &secret_values);
                if (keep && rendered != *v) || masked != shown {
                    written.insert(key, masked);
                }
            }
            out.insert(k.clone(), rendered);
        }
        Ok((Value::Mapping(out), written))
    }

    /// A value with each Jinja string rendered; whether any read a secret.
    fn value(&self, v: &Value) -> Result<(Value, bool), String> {
        match v {
            Value::String(s) if has_jinja(s) => {
                let (text, secret) = self.render(s)?;
                let typed = match text.trim() {
                    "True" | "true" => Value::Bool(true),
                    "False" | "false" => Value::Bool(false),
                    _ => Value::String(text),
                };
                Ok((typed, secret))
            }
            Value::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut any = false;
                for i in items {
                    let (r, s) = self.value(i)?;
                    out.push(r);
                    any |= s;
                }
                Ok((Value::Sequence(out), any))
            }
            other => Ok((other.clone(), false)),
        }
    }

    /// One string rendered; whether it read a secret env var.
    fn render(&self, text: &str) -> Result<(String, bool), String> {
        let mut jinja = minijinja::Environment::new();
        jinja.set_fuel(Some(crate::limits::MAX_INSTRUCTIONS));
        let read_secret = Arc::new(Mutex::new(false));
        let (env, flag) = (self.env.clone(), read_secret.clone());
        jinja.add_function("env_var", move |key: String, default: Option<String>| {
            let found = env.get(&key);
            if found.is_some() && secrets::is_secret(&key) {
                *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
            }
            found.or(default).ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("env var `{key}` is not set and has no default"),
                )
            })
        });
        let vars = self.vars.clone();
        jinja.add_function("var", move |key: String, default: Option<minijinja::Value>| {
            match (vars.get(&key), default) {
                (Some(v), _) => Ok(minijinja::Value::from(minijinja::value::Serde(v.clone()))),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("required var `{key}` not found (packages.yml sees only the vars given with --vars)"),
                )),
            }
        });
        let out = jinja.render_str(text, ()).map_err(|e| crate::template::describe(&e))?;
        let secret = *read_secret.lock().unwrap_or_else(|p| p.into_inner());
        Ok((out, secret))
    }
}

/// What `project::packages::specs` renders `packages.yml` entries with.
impl RenderEntry for Renderer {
    fn entry(&self, raw: &Value) -> Result<(Value, Written), String> {
        Renderer::entry(self, raw)
    }
}

fn has_jinja(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// A lock entry (`(key, rendered value)` in dbt's order) with the fields
/// `written` names replaced by their written text.
pub(crate) fn as_written(entry: Vec<(String, String)>, written: &Written) -> Vec<(String, String)> {
    entry
        .into_iter()
        .map(|(k, v)| match written.get(&k) {
            Some(w) => (k, w.clone()),
            None => (k, v),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer(env: &[(&str, &str)]) -> Renderer {
        let env = Env::from_map(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let vars = BTreeMap::from([("rev".to_string(), Value::from("v2"))]);
        Renderer::new(env, vars)
    }

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).expect("yaml")
    }

    #[test]
    fn git_urls_stay_as_written_and_local_paths_are_rendered() {
        let r = renderer(&[("RUNNER_T_GITDIR", "/srv"), ("RUNNER_T_PKG", "pkgs/a")]);
        let (v, w) = r
            .entry(&yaml("git: \"file://{{ env_var('RUNNER_T_GITDIR') }}/x.git\"\nrevision: \"{{ var('rev') }}\""))
            .expect("renders");
        assert_eq!(v, yaml("git: file:///srv/x.git\nrevision: v2"));
        assert_eq!(w, Written::from([("git".into(), "file://{{ env_var('RUNNER_T_GITDIR') }}/x.git".into())]));
        let (v, w) = r.entry(&yaml("local: \"{{ env_var('RUNNER_T_PKG') }}\"")).expect("renders");
        assert_eq!(v, yaml("local: pkgs/a"));
        assert!(w.is_empty(), "{w:?}");
        let (v, _) = r.entry(&yaml("local: \"{{ env_var('RUNNER_T_UNSET', 'dflt') }}\"")).expect("default");
        assert_eq!(v, yaml("local: dflt"));
        let e = r.entry(&yaml("local: \"{{ env_var('RUNNER_T_UNSET') }}\"")).expect_err("unset");
        assert!(e.contains("`RUNNER_T_UNSET` is not set"), "{e}");
        let e = r.entry(&yaml("local: \"{{ var('nope') }}\"")).expect_err("no var");
        assert!(e.contains("--vars"), "{e}");
    }

    #[test]
    fn a_secret_never_reaches_the_lock() {
        let r = renderer(&[("DBT_ENV_SECRET_RUNNER_T_DIR", "s3cr3t")]);
        let raw = "local: \"{{ env_var('DBT_ENV_SECRET_RUNNER_T_DIR') }}\"";
        let (v, w) = r.entry(&yaml(raw)).expect("secrets are allowed here");
        assert_eq!(v, yaml("local: s3cr3t"));
        assert_eq!(w["local"], "{{ env_var('DBT_ENV_SECRET_RUNNER_T_DIR') }}");
        // A secret's value written out literally is masked, as dbt scrubs it.
        let (_, w) = r.entry(&yaml("git: https://s3cr3t@host/x.git")).expect("plain");
        assert_eq!(w["git"], "https://*****@host/x.git");
        let (_, w) = r.entry(&yaml("local: /srv/s3cr3t")).expect("plain");
        assert_eq!(w["local"], "/srv/*****");
        let (_, w) = r.entry(&yaml("local: /srv/plain")).expect("plain");
        assert!(w.is_empty());
        let lock = as_written(
            vec![("local".into(), "s3cr3t".into()), ("name".into(), "a".into())],
            &Written::from([("local".into(), "x".into())]),
        );
        assert_eq!(lock, vec![("local".to_string(), "x".to_string()), ("name".to_string(), "a".to_string())]);
    }
}
