//! dbt's unit tests (dbt-core 1.8+), as dbt-core 1.10 with dbt-duckdb 1.9
//! runs them: a model's SQL rendered with each `ref`/`source`/`this` it reads
//! replaced by a CTE of fixed rows, and its output compared with the
//! expected rows, on the columns the expectation names.
//!
//! Owns reading fixture rows (dict, csv, sql; inline, from
//! `<test-path>/fixtures/`, or a seed's file), a unit test as planned
//! ([`Planned`]), the SQL dbt's `get_fixture_sql` / `get_expected_sql` /
//! `get_unit_test_sql` macros generate ([`sql`]) and the comparison of actual
//! and expected rows with its daff-like rendering ([`diff`]). The validated
//! shape of a `unit_tests:` entry ([`UnitTestDecl`]) is read when the project
//! loads, so it is `project::unit_tests`' (re-exported here with its
//! [`parse`]). It plans nothing, renders no Jinja and never touches the
//! database: `nodes::unit` plans, `executor::unit` runs.

pub mod diff;
pub mod sql;

pub use crate::project::unit_tests::{
    parse, Cell, FixtureFile, Format, Given, Input, Overrides, Row, Rows, UnitTestDecl, VersionChoice,
};

use crate::config_tree::ConfigMap;
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Fixture rows once files are read: what the SQL is generated from.
#[derive(Debug, Clone, PartialEq)]
pub enum Fixture {
    Rows(Vec<Row>),
    Sql(String),
    /// A seed's own csv file, read when the test runs (dbt reads it at parse).
    SeedFile(PathBuf),
}

/// Reads declared rows into fixture rows: a fixture file by name, or (when
/// the input is a seed and no rows are given) the seed's file.
pub fn resolve(
    rows: &Rows,
    fixtures: &BTreeMap<String, FixtureFile>,
    seed_file: Option<&std::path::Path>,
) -> Result<Fixture, String> {
    match rows {
        Rows::Given(r) => Ok(Fixture::Rows(r.clone())),
        Rows::Sql(s) => Ok(Fixture::Sql(s.clone())),
        Rows::Fixture { name, format } => {
            let f = fixtures.get(name).ok_or_else(|| format!("fixture file `{name}` not found"))?;
            match (format, f.format) {
                (Format::Sql, _) => Ok(Fixture::Sql(f.text.clone())),
                (_, Format::Sql) => Err(format!(
                    "fixture `{name}` is `{}`, a sql file, for rows of format `{}`",
                    f.path.display(),
                    format.as_str()
                )),
                _ => parse::csv_rows(&f.text, true).map(Fixture::Rows),
            }
        }
        Rows::Seed => match seed_file {
            Some(path) => Ok(Fixture::SeedFile(path.to_path_buf())),
            None => Err("no rows given, and the input is not a seed to read them from".to_string()),
        },
    }
}

/// A unit test as planned: everything the executor needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub model_id: String,
    pub model_name: String,
    /// The model's template name and config, rendered with the fixtures.
    pub template: String,
    pub model_config: ConfigMap,
    /// Where the model is built (what `this` would be outside the test).
    pub model_relation: Relation,
    pub inputs: Vec<PlannedInput>,
    pub expect: Fixture,
    pub overrides: Overrides,
    /// `is_incremental()` during the test: the override, else false.
    pub is_incremental: bool,
    pub description: String,
    /// The declaration, for the manifest.
    pub given: Vec<Given>,
    pub expect_rows: Rows,
    pub expect_format: Format,
    /// The declaration's `versions:` choice, for the manifest.
    pub versions: Option<VersionChoice>,
}

/// One `given` entry as planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedInput {
    pub input: Input,
    /// The input's node name (`stg_orders`, the source table, or the model
    /// for `this`): how dbt's fixture messages name it.
    pub name: String,
    /// The relation the fixture stands in for: its columns give the types.
    pub relation: Relation,
    /// `__dbt__cte__<identifier>`: what `ref`/`source`/`this` render as.
    pub cte: String,
    pub fixture: Fixture,
}
