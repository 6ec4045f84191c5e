//! The rules for names that become paths: DAG ids, the project name, and the
//! names of tests and aliases that name files.
//!
//! A DAG id names `.runner/history/<dag_id>/`, `.runner/paused/<dag_id>` and
//! `logs/dag_id=<dag_id>/`; the project name names `target/compiled/<name>/`.
//! Each is checked once, where it is loaded, so every later `join` is safe.
//! This module only judges text; it reads and writes nothing.

/// Airflow's limit on a DAG id (`airflow.utils.helpers.validate_key`).
const MAX_DAG_ID: usize = 250;

/// Airflow's rule for a DAG id: letters, digits, `_`, `-` and `.` only, at
/// most 250 characters (`KEY_REGEX = ^[\w.-]+$`). Airflow also takes `.` and
/// `..`; they are refused here because a DAG id is a folder name.
pub(crate) fn check_dag_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("a DAG id must not be empty".into());
    }
    if id.chars().count() > MAX_DAG_ID {
        return Err(format!("`{}…` is longer than Airflow's {MAX_DAG_ID} characters", prefix(id)));
    }
    if let Some(c) = id.chars().find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
        return Err(format!(
            "`{}` holds {}: a DAG id is made of letters, digits, `_`, `-` and `.` only, as in Airflow",
            id.escape_debug(),
            describe(c)
        ));
    }
    if id.chars().all(|c| c == '.') {
        return Err(format!("`{id}` is not a usable DAG id: it names a folder of its own"));
    }
    Ok(())
}

/// A project name made from a folder's name, for a project without
/// `dbt_project.yml`: every character dbt does not take becomes `_`
/// (`.tmp-x` → `_tmp_x`), so unique ids (`model.<project>.<name>`) keep
/// their dotted shape; `project` when nothing is left.
pub(crate) fn project_name_from(folder: &str) -> String {
    let mut name: String =
        folder.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.is_empty() {
        "project".into()
    } else {
        name
    }
}

/// dbt's rule for a project name: letters, digits and underscores, not
/// starting with a digit (dbt-core's `Identifier`, `^[^\d\W]\w*$`).
pub(crate) fn check_project_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Ok(());
    }
    Err(format!(
        "`{}` is not a valid project name: dbt takes letters, digits and underscores only, not starting with a digit",
        name.escape_debug()
    ))
}

/// A name that becomes one file or table name (a test's `name:`, an `alias`):
/// anything but a path separator, a NUL, `.` or `..`. dbt takes such names
/// as they are and writes wherever they point; here they stay in their folder.
pub(crate) fn check_file_name(name: &str) -> Result<(), String> {
    if let Some(c) = name.chars().find(|&c| matches!(c, '/' | '\\' | '\0')) {
        return Err(format!(
            "`{}` holds {}, which would name a file in another folder",
            name.escape_debug(),
            describe(c)
        ));
    }
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("`{name}` is not a usable name for a file"));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        '/' | '\\' => format!("a path separator `{c}`"),
        '\0' => "a NUL character".into(),
        c if c.is_whitespace() || c.is_control() => format!("the character {:?}", c),
        c => format!("`{c}`"),
    }
}

fn prefix(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dag_ids_follow_airflows_key_rule() {
        for ok in ["my_dag", "a.b-c_1", "ünïcode", "x".repeat(250).as_str()] {
            assert_eq!(check_dag_id(ok), Ok(()), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../../x", "a/b", "a\\b", "a b", "a:b", ".", "..", "...", "x\0"] {
            assert!(check_dag_id(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(check_dag_id(&"x".repeat(251)).is_err_and(|e| e.contains("250")));
        assert!(check_dag_id("../x").is_err_and(|e| e.contains("path separator")));
    }

    #[test]
    fn a_folder_name_becomes_a_project_name() {
        assert_eq!(project_name_from(".tmpAb9"), "_tmpAb9");
        assert_eq!(project_name_from("my-shop"), "my_shop");
        assert_eq!(project_name_from("2025"), "_2025");
        assert_eq!(project_name_from(""), "project");
        for folder in [".tmpAb9", "my-shop", "2025", "é"] {
            assert_eq!(check_project_name(&project_name_from(folder)), Ok(()), "{folder}");
        }
    }

    #[test]
    fn project_names_are_identifiers() {
        for ok in ["shop", "_x", "jaffle_shop2", "étude"] {
            assert_eq!(check_project_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "2shop", "my-shop", "../x", "a/b", "a.b", "a b"] {
            assert!(check_project_name(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn file_names_stay_in_their_folder() {
        for ok in ["not_null_orders_id", "my.test", "x..y"] {
            assert_eq!(check_file_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(check_file_name(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
