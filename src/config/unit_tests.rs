//! The raw shape of one `unit_tests:` entry of a property file, as dbt-core
//! 1.10's `UnparsedUnitTest` accepts it (unknown keys are refused, as dbt's
//! JSON schema refuses them). `rows` stay raw YAML: dbt takes a list of
//! mappings for `dict` and a string for `csv` and `sql`, and
//! `crate::project::unit_tests::parse` decides per format with its own errors.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnitTest {
    pub name: String,
    pub model: String,
    pub given: Vec<RawInput>,
    pub expect: RawExpect,
    pub description: Option<String>,
    pub overrides: Option<RawOverrides>,
    pub config: Option<BTreeMap<String, Value>>,
    pub versions: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub input: String,
    pub rows: Option<Value>,
    pub format: Option<String>,
    pub fixture: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub rows: Option<Value>,
    pub format: Option<String>,
    pub fixture: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverrides {
    pub macros: Option<BTreeMap<String, Value>>,
    pub vars: Option<BTreeMap<String, Value>>,
    pub env_vars: Option<BTreeMap<String, Value>>,
}
