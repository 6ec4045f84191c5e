//! The unit tests a project declares (`unit_tests:` in property files) and
//! its fixture files (`<test-path>/fixtures/`), validated as far as one file
//! can tell: the shape of an entry ([`UnitTestDecl`]), read from the raw YAML
//! by [`parse`] when the project loads. What they name is checked when they
//! are planned (`nodes::unit`); fixture rows, their SQL and the comparison
//! are `crate::unit_tests`' (which re-exports these types), running them is
//! `executor::unit`'s.

pub mod parse;

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
