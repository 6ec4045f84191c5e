//! A profile's `settings:`, `extensions:`, `attach:` and `secrets:` checked
//! before the warehouse file is created or locked, then extensions loaded
//! into it, secrets created and attachments attached once open.
//!
//! dbt-duckdb installs and loads each extension of `extensions:`; so does
//! this module (`LOAD`, then `INSTALL` + `LOAD` when it is not installed).
//! It attaches `attach:` entries with the `ATTACH` dbt-duckdb renders. The
//! check runs on a throwaway in-memory database, so a typo in the profile
//! exits 2 with nothing written. Decides nothing about what runs.

use super::registry::{set_statement, Database};
use crate::diag::Diagnostic;
use crate::project::profile::{quote, Attachment, SecretSql};
use duckdb::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// What is wrong with a profile's `settings:`, `extensions:`, `attach:` or
/// `secrets:`: the message names the key (a secret by its name, never a
/// value); the hint, when there is a better one than DuckDB's documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileError {
    pub message: String,
    pub hint: Option<String>,
}

impl From<String> for ProfileError {
    fn from(message: String) -> ProfileError {
        ProfileError { message, hint: None }
    }
}

/// Preparing an opened database for a run failed: the profile's
/// `extensions:`, `secrets:` or `attach:`, or a schema the run writes to.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Extensions(String),
    #[error("{0}")]
    Secrets(ProfileError),
    #[error("{0}")]
    Attach(String),
    #[error("cannot create schema `{schema}`: {source}")]
    Schema { schema: String, source: duckdb::Error },
    #[error("{0}")]
    Connect(super::OpenError),
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.hint {
            Some(h) => write!(f, "{}\n  (hint: {h})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A secret DuckDB refused, said without its values.
fn secret_error(s: &SecretSql, e: &duckdb::Error) -> ProfileError {
    let (message, hint) = s.refusal(&e.to_string());
    ProfileError { message, hint }
}

/// Applies `settings` and loads `extensions` on an in-memory database,
/// creates the `secrets` there, and checks that every read-only local
/// attachment exists (DuckDB creates a missing read-write one, as under dbt);
/// the error names the profile key at fault.
pub fn check_profile(
    settings: &BTreeMap<String, String>,
    extensions: &[String],
    attachments: &[Attachment],
    secrets: &[SecretSql],
) -> Result<(), ProfileError> {
    for a in attachments.iter().filter(|a| a.local && a.read_only) {
        if !Path::new(&a.path).exists() {
            return Err(format!(
                "`attach`: `{}` (alias `{}`) does not exist, and a `read_only` attachment is never created",
                a.path, a.alias
            )
            .into());
        }
    }
    if settings.is_empty() && extensions.is_empty() && secrets.is_empty() {
        return Ok(());
    }
    let conn = Connection::open_in_memory().map_err(|e| format!("cannot start DuckDB: {e}"))?;
    for (key, value) in settings {
        let sql = set_statement(key, value).ok_or_else(|| format!("`settings.{key}`: not a valid setting name"))?;
        conn.execute_batch(&sql).map_err(|e| format!("`settings.{key}`: {e}"))?;
    }
    load_on(&conn, extensions)?;
    // Without PERSISTENT: a check must not write to DuckDB's secret store.
    for s in secrets {
        conn.execute_batch(&s.check_sql).map_err(|e| secret_error(s, &e))?;
    }
    Ok(())
}

/// Creates the profile's secrets in an open database, as dbt-duckdb does at
/// connect: they apply to every connection of it. Messages never hold a value.
pub fn create_secrets(db: &Database, secrets: &[SecretSql]) -> Result<(), ProfileError> {
    if secrets.is_empty() {
        return Ok(());
    }
    let conn = db.connect().map_err(|e| e.to_string())?;
    for s in secrets {
        conn.execute_batch(&s.sql).map_err(|e| secret_error(s, &e))?;
    }
    Ok(())
}

/// Checks that the warehouse file can go where the profile says: `runner`
/// creates the file, never folders (a typo in `path:` created them
/// anywhere, even under `/`). The error says which folder is missing.
pub fn check_path(path: &Path) -> Result<(), Diagnostic> {
    let shown = path.display();
    if path.is_dir() {
        return Err(Diagnostic::new(format!("the database path `{shown}` is a folder"))
            .hint("point the profile's `path:` at a file, such as `shop.duckdb`"));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Diagnostic::new(format!("`{}`, where the database `{shown}` goes, is not a directory", parent.display()))
            .hint("point the profile's `path:` into a folder")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Diagnostic::new(format!("the folder `{}` for the database `{shown}` does not exist", parent.display()))
                .hint(format!(
                    "create it (`mkdir -p {}`) or point the profile's `path:` elsewhere; runner creates the database file, not folders",
                    parent.display()
                )))
        }
        Err(e) => Err(Diagnostic::new(format!("cannot use the folder `{}` for the database: {e}", parent.display()))),
    }
}

/// Loads the profile's extensions into an open database (they apply to
/// every connection of it).
pub fn load_extensions(db: &Database, extensions: &[String]) -> Result<(), String> {
    if extensions.is_empty() {
        return Ok(());
    }
    let conn = db.connect().map_err(|e| e.to_string())?;
    load_on(&conn, extensions)
}

/// Attaches the profile's `attach:` entries to an open database; DuckDB keeps
/// attachments per database, so every worker connection sees them.
pub fn attach(db: &Database, attachments: &[Attachment]) -> Result<(), String> {
    if attachments.is_empty() {
        return Ok(());
    }
    let conn = db.connect().map_err(|e| e.to_string())?;
    for a in attachments {
        conn.execute_batch(&attach_sql(a))
            .map_err(|e| format!("`attach`: cannot attach `{}` as `{}`: {e}", a.path, a.alias))?;
    }
    Ok(())
}

/// `ATTACH IF NOT EXISTS '<path>' AS "<alias>" (TYPE t, SECRET s, READ_ONLY, KEY v)`:
/// dbt-duckdb's statement, with the alias quoted. `IF NOT EXISTS` because
/// the registry may hand back a database this process already opened.
pub fn attach_sql(a: &Attachment) -> String {
    let mut sql = format!("ATTACH IF NOT EXISTS {} AS \"{}\"", quote(&a.path), a.alias.replace('"', "\"\""));
    let mut opts: Vec<String> = Vec::new();
    opts.extend(a.kind.iter().map(|t| format!("TYPE {t}")));
    opts.extend(a.secret.iter().map(|s| format!("SECRET {s}")));
    if a.read_only {
        opts.push("READ_ONLY".into());
    }
    for (key, value) in &a.options {
        opts.push(match value {
            Some(v) => format!("{key} {v}"),
            None => key.clone(),
        });
    }
    if !opts.is_empty() {
        sql.push_str(&format!(" ({})", opts.join(", ")));
    }
    sql
}

/// The extensions compiled into this binary's DuckDB (the `duckdb` crate's
/// features): they load with no network, and `runner debug` lists them.
pub(crate) fn built_in_extensions() -> Result<Vec<String>, String> {
    let conn = Connection::open_in_memory().map_err(|e| format!("cannot start DuckDB: {e}"))?;
    let sql = "select extension_name from duckdb_extensions() \
               where install_mode = 'STATICALLY_LINKED' order by extension_name";
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let names = stmt.query_map([], |row| row.get::<_, String>(0)).map_err(|e| e.to_string())?;
    names.collect::<Result<Vec<String>, _>>().map_err(|e| e.to_string())
}

fn load_on(conn: &Connection, extensions: &[String]) -> Result<(), String> {
    for ext in extensions {
        // Names cannot be bound as parameters: only plain identifiers pass.
        if ext.is_empty() || !ext.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`extensions`: `{ext}` is not an extension name"));
        }
        if conn.execute_batch(&format!("LOAD {ext}")).is_ok() {
            continue;
        }
        conn.execute_batch(&format!("INSTALL {ext}; LOAD {ext}"))
            .map_err(|e| format!("`extensions`: cannot load `{ext}`: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_and_json_are_built_in_and_work_offline() {
        let names = built_in_extensions().expect("list");
        for ext in ["core_functions", "json", "parquet"] {
            assert!(names.iter().any(|n| n == ext), "{ext} missing from {names:?}");
        }
        // A profile's `extensions: [parquet, json]` loads them without INSTALL.
        check_profile(&BTreeMap::new(), &["parquet".to_string(), "json".to_string()], &[], &[]).expect("load offline");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("t.parquet");
        let conn = Connection::open_in_memory().expect("open");
        let sql =
            format!("copy (select 1 as id, '{{\"a\": [1, 2]}}'::json as j) to '{}' (format parquet)", file.display());
        conn.execute_batch(&sql).expect("write parquet");
        let got: (i64, String) = conn
            .query_row(&format!("select id, j ->> '$.a[1]' from read_parquet('{}')", file.display()), [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("read parquet, extract json");
        assert_eq!(got, (1, "2".to_string()));
    }

    #[test]
    fn good_settings_and_builtin_extensions_pass() {
        let settings = BTreeMap::from([("threads".to_string(), "1".to_string())]);
        // `core_functions` is the extension compiled into the bundled DuckDB;
        // others are downloaded, which this sandbox cannot.
        check_profile(&settings, &["core_functions".to_string()], &[], &[]).expect("valid");
        check_profile(&BTreeMap::new(), &[], &[], &[]).expect("nothing to check");
    }

    #[test]
    fn a_bad_setting_or_extension_names_its_key() {
        let bad = BTreeMap::from([("no_such_setting".to_string(), "1".to_string())]);
        let e = check_profile(&bad, &[], &[], &[]).expect_err("unknown setting").message;
        assert!(e.starts_with("`settings.no_such_setting`:"), "{e}");
        let e = check_profile(&BTreeMap::new(), &["httpfs; drop table x".to_string()], &[], &[])
            .expect_err("not a name")
            .message;
        assert!(e.contains("is not an extension name"), "{e}");
        let e = check_profile(&BTreeMap::new(), &["no_such_extension_xyz".to_string()], &[], &[])
            .expect_err("missing")
            .message;
        assert!(e.starts_with("`extensions`: cannot load `no_such_extension_xyz`"), "{e}");
    }

    fn attachment(path: &str, alias: &str, read_only: bool) -> Attachment {
        Attachment {
            path: path.into(),
            alias: alias.into(),
            kind: None,
            secret: None,
            read_only,
            options: Vec::new(),
            local: true,
        }
    }

    #[test]
    fn attach_sql_renders_dbt_duckdbs_statement() {
        let mut a = attachment("/d/it's.db", "we\"ird", true);
        a.kind = Some("sqlite".into());
        a.options = vec![("BLOCK_SIZE".into(), Some("16384".into())), ("FLAG".into(), None)];
        assert_eq!(
            attach_sql(&a),
            "ATTACH IF NOT EXISTS '/d/it''s.db' AS \"we\"\"ird\" (TYPE sqlite, READ_ONLY, BLOCK_SIZE 16384, FLAG)"
        );
        assert_eq!(attach_sql(&attachment("/d/x.db", "x", false)), "ATTACH IF NOT EXISTS '/d/x.db' AS \"x\"");
    }

    #[test]
    fn a_missing_read_only_file_fails_the_check_but_a_writable_one_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("gone.duckdb").display().to_string();
        let e = check_profile(&BTreeMap::new(), &[], &[attachment(&missing, "gone", true)], &[])
            .expect_err("missing")
            .message;
        assert!(e.contains(&format!("`{missing}`")) && e.contains("does not exist"), "{e}");
        check_profile(&BTreeMap::new(), &[], &[attachment(&missing, "gone", false)], &[]).expect("created on attach");
        assert!(!Path::new(&missing).exists(), "the check writes nothing");
    }
}
