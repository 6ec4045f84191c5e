//! runner's own version of dbt's global project: the macros dbt-core and
//! dbt-duckdb ship (cross-database helpers, `generate_*_name`, …), written
//! for DuckDB as Jinja files in `builtins/` and compiled into the binary.
//!
//! They form the [`super::namespaces::BUILTIN`] package, resolved like any
//! other: a project or package macro of the same name overrides them the dbt
//! way. Anything Jinja cannot express (adapter calls, relations, query
//! results) is Rust in the sibling modules, not here. This module only lists
//! the files.

use crate::project::SqlFile;
use std::path::PathBuf;

/// The built-in macro files: (file name, text).
const FILES: &[(&str, &str)] = &[
    ("arrays.sql", include_str!("builtins/arrays.sql")),
    ("catalog.sql", include_str!("builtins/catalog.sql")),
    ("configs.sql", include_str!("builtins/configs.sql")),
    ("cross_db.sql", include_str!("builtins/cross_db.sql")),
    ("dates.sql", include_str!("builtins/dates.sql")),
    ("incremental.sql", include_str!("builtins/incremental.sql")),
    ("naming.sql", include_str!("builtins/naming.sql")),
    ("series.sql", include_str!("builtins/series.sql")),
    ("snapshots.sql", include_str!("builtins/snapshots.sql")),
    ("timestamps.sql", include_str!("builtins/timestamps.sql")),
    ("types.sql", include_str!("builtins/types.sql")),
];

/// Where messages say a built-in macro lives.
const DIR: &str = "(runner built-in macros)";

/// The built-in macro files, as the template builder loads macro files.
pub(super) fn files() -> Vec<SqlFile> {
    FILES
        .iter()
        .map(|(name, text)| SqlFile {
            name: name.trim_end_matches(".sql").to_string(),
            path: PathBuf::from(DIR).join(name),
            folders: Vec::new(),
            text: text.to_string(),
        })
        .collect()
}

#[cfg(test)]
#[path = "builtins/tests.rs"]
mod tests;
