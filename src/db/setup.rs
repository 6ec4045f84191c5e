//! A profile's `settings:` and `extensions:` checked before the warehouse file
//! is created or locked, and extensions loaded into it once open.
//!
//! dbt-duckdb installs and loads each extension of `extensions:`; so does
//! this module (`LOAD`, then `INSTALL` + `LOAD` when it is not installed).
//! The check runs on a throwaway in-memory database, so a typo in the
//! profile exits 2 with nothing written. Decides nothing about what runs.

use super::registry::{set_statement, Database};
use duckdb::Connection;
use std::collections::BTreeMap;

/// Applies `settings` and loads `extensions` on an in-memory database; the
/// error names the profile key at fault.
pub fn check_profile(settings: &BTreeMap<String, String>, extensions: &[String]) -> Result<(), String> {
    if settings.is_empty() && extensions.is_empty() {
        return Ok(());
    }
    let conn = Connection::open_in_memory().map_err(|e| format!("cannot start DuckDB: {e}"))?;
    for (key, value) in settings {
        let sql = set_statement(key, value).ok_or_else(|| format!("`settings.{key}`: not a valid setting name"))?;
        conn.execute_batch(&sql).map_err(|e| format!("`settings.{key}`: {e}"))?;
    }
    load_on(&conn, extensions)
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
    fn good_settings_and_builtin_extensions_pass() {
        let settings = BTreeMap::from([("threads".to_string(), "1".to_string())]);
        // `core_functions` is the extension compiled into the bundled DuckDB;
        // others are downloaded, which this sandbox cannot.
        check_profile(&settings, &["core_functions".to_string()]).expect("valid");
        check_profile(&BTreeMap::new(), &[]).expect("nothing to check");
    }

    #[test]
    fn a_bad_setting_or_extension_names_its_key() {
        let bad = BTreeMap::from([("no_such_setting".to_string(), "1".to_string())]);
        let e = check_profile(&bad, &[]).expect_err("unknown setting");
        assert!(e.starts_with("`settings.no_such_setting`:"), "{e}");
        let e = check_profile(&BTreeMap::new(), &["httpfs; drop table x".to_string()]).expect_err("not a name");
        assert!(e.contains("is not an extension name"), "{e}");
        let e = check_profile(&BTreeMap::new(), &["no_such_extension_xyz".to_string()]).expect_err("missing");
        assert!(e.starts_with("`extensions`: cannot load `no_such_extension_xyz`"), "{e}");
    }
}
