//! The variables `env_var()` sees: the real environment over the project's `.env`.
//!
//! `.env` is read into a map instead of being exported into the process, so
//! the real environment always wins and nothing leaks between projects loaded
//! by one process (the scheduler loads several).

use crate::diag::Diagnostic;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct Env {
    dotenv: BTreeMap<String, String>,
}

impl Env {
    /// Loads `<project_dir>/.env` if present; a malformed line is an error naming it.
    pub fn load(project_dir: &Path) -> Result<Env, Diagnostic> {
        let path = project_dir.join(".env");
        if !path.exists() {
            return Ok(Env::default());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| Diagnostic::in_file(".env", format!("cannot read: {e}")))?;
        // A byte order mark would become part of the first variable's name.
        let iter = dotenvy::from_read_iter(crate::yaml::strip_bom(&text).as_bytes());
        let mut dotenv = BTreeMap::new();
        for item in iter {
            match item {
                Ok((k, v)) => {
                    dotenv.insert(k, v);
                }
                Err(dotenvy::Error::LineParse(line, idx)) => {
                    return Err(Diagnostic::in_file(".env", format!("cannot parse `{line}` at character {idx}"))
                        .hint("write `KEY=value`, one per line"));
                }
                Err(e) => return Err(Diagnostic::in_file(".env", format!("cannot read: {e}"))),
            }
        }
        Ok(Env { dotenv })
    }

    pub fn from_map(dotenv: BTreeMap<String, String>) -> Env {
        Env { dotenv }
    }

    /// The real environment first: `.env` never overrides it.
    pub fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().or_else(|| self.dotenv.get(key).cloned())
    }

    /// The value of every variable whose name starts with `prefix`, as `get`
    /// sees them (what must be masked where the profile's values are shown).
    pub fn values_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.with_prefix(prefix).into_values().collect()
    }

    /// Name → value of every variable whose name starts with `prefix`, as `get` sees them.
    fn with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        let real = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
        let names: std::collections::BTreeSet<String> =
            real.chain(self.dotenv.keys().cloned()).filter(|k| k.starts_with(prefix)).collect();
        names.into_iter().filter_map(|k| self.get(&k).map(|v| (k, v))).collect()
    }

    /// dbt's `dbt_metadata_envs` (and the artifacts' `metadata.env`): every
    /// `DBT_ENV_CUSTOM_ENV_` variable, named without that prefix.
    pub fn metadata_envs(&self) -> BTreeMap<String, String> {
        let prefix = "DBT_ENV_CUSTOM_ENV_";
        self.with_prefix(prefix).into_iter().map(|(k, v)| (k[prefix.len()..].to_string(), v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_never_overrides_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env"), "RUNNER_T_ONLY_DOTENV=from_file\nPATH=/nowhere\n# comment\n")
            .expect("write .env");
        let env = Env::load(dir.path()).expect("loads");
        assert_eq!(env.get("RUNNER_T_ONLY_DOTENV").as_deref(), Some("from_file"));
        assert_eq!(env.get("PATH"), std::env::var("PATH").ok());
        assert_ne!(env.get("PATH").as_deref(), Some("/nowhere"));
        assert_eq!(env.get("RUNNER_T_UNSET_ANYWHERE"), None);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env"), "\u{feff}RUNNER_T_BOM_FIRST=1\n").expect("write .env");
        let env = Env::load(dir.path()).expect("loads");
        assert_eq!(env.get("RUNNER_T_BOM_FIRST").as_deref(), Some("1"));
    }

    #[test]
    fn missing_dotenv_is_fine() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Env::load(dir.path()).is_ok());
    }
}
