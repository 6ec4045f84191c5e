//! dbt's unit tests (dbt-core 1.8+), as dbt-core 1.10 with dbt-duckdb 1.9
//! runs them: a model's SQL rendered with each `ref`/`source`/`this` it reads
//! replaced by a CTE of fixed rows, and its output compared with the
//! expected rows, on the columns the expectation names.
//!
//! Owns the validated shape of a `unit_tests:` entry ([`UnitTestDecl`],
//! built from the raw YAML by [`parse`]), reading fixture rows (dict, csv,
//! sql; inline, from `<test-path>/fixtures/`, or a seed's file), the SQL dbt's
//! `get_fixture_sql` / `get_expected_sql` / `get_unit_test_sql` macros
//! generate ([`sql`]) and the comparison of actual and expected rows with
//! its daff-like rendering ([`diff`]). It plans nothing, renders no Jinja and
//! never touches the database: `nodes::unit` plans, `executor::unit` runs.

pub mod diff;
pub mod parse;
pub mod sql;

use crate::config_tree::ConfigMap;
use crate::template::relation::Relation;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One value of a fixture row, as dbt's `format_row` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// YAML `null`, or an empty csv field.
    Null,
    /// A string: quoted and escaped into the SQL.
    Text(String),
    /// A number, boolean, list or mapping, spliced in as Python prints it.
    Literal(String),
}

/// A fixture row: column names as written, in order.
pub type Row = Vec<(String, Cell)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dict,
    Csv,
    Sql,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dict => "dict",
            Format::Csv => "csv",
            Format::Sql => "sql",
        }
    }
}

/// Where a fixture's rows come from, as declared.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// Dict rows, or csv text already read.
    Given(Vec<Row>),
    /// `format: sql` text written in the property file.
    Sql(String),
    /// A file `<name>.csv` / `<name>.sql` under a `<test-path>/fixtures/` folder.
    Fixture { name: String, format: Format },
    /// `format: dict` with neither `rows` nor `fixture`: dbt reads the
    /// input seed's own file.
    Seed,
}

/// Fixture rows once files are read: what the SQL is generated from.
#[derive(Debug, Clone, PartialEq)]
pub enum Fixture {
    Rows(Vec<Row>),
    Sql(String),
    /// A seed's own csv file, read when the test runs (dbt reads it at parse).
    SeedFile(PathBuf),
}

/// What a `given` entry stands in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// dbt's ref lookup key: the name, or `<name>.v<v>` for a pinned version.
    Ref(String),
    Source(String, String),
    /// The tested model itself (`this`, for incremental models).
    This,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub input: Input,
    /// `ref('stg_orders')`, as written: how messages name the input.
    pub written: String,
    pub format: Format,
    pub rows: Rows,
}

/// `overrides:` of a unit test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Macro name → the value every call of it returns.
    pub macros: BTreeMap<String, Value>,
    /// Variables over every other layer (dbt puts them over `--vars`).
    pub vars: BTreeMap<String, Value>,
    /// `env_var(name)` → this text.
    pub env_vars: BTreeMap<String, String>,
}

/// One `unit_tests:` entry, validated as far as one file can tell; what it
/// names (the model, its inputs, fixture files) is checked when planned.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTestDecl {
    pub name: String,
    pub model: String,
    pub description: String,
    pub given: Vec<Given>,
    pub expect: Rows,
    pub expect_format: Format,
    pub overrides: Overrides,
    /// `config:` as written (`tags`, `meta`, `enabled`).
    pub config: BTreeMap<String, Value>,
    /// The property file, relative to the project.
    pub file: PathBuf,
    /// The entry's `name:` line.
    pub line: Option<usize>,
    /// `versions:`: which versions of a versioned model it tests (all when none).
    pub versions: Option<VersionChoice>,
}

/// A unit test's `versions:` choice.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionChoice {
    Include(Vec<crate::project::versions::Version>),
    Exclude(Vec<crate::project::versions::Version>),
}

impl VersionChoice {
    /// Whether the unit test tests version `v`.
    pub fn tests(&self, v: &crate::project::versions::Version) -> bool {
        match self {
            VersionChoice::Include(listed) => listed.iter().any(|l| l.same(v)),
            VersionChoice::Exclude(listed) => !listed.iter().any(|l| l.same(v)),
        }
    }
}

/// A fixture file under `<test-path>/fixtures/`: dbt names it by its stem.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureFile {
    pub path: PathBuf,
    pub text: String,
    pub format: Format,
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
