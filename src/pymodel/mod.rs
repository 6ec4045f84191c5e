//! Python models (`models/**/*.py` with `def model(dbt, session)`), as
//! dbt-core 1.10 and dbt-duckdb 1.9 run them from the user's point of view.
//!
//! [`parse`] reads the file as dbt's parser does (its `dbt.ref`,
//! `dbt.source`, `dbt.config` and `dbt.config.get` calls, which give the
//! model its parents and config); [`module`] writes the compiled module (the
//! file and the `dbt` object it is run with); [`process`] runs it in the
//! user's Python (`RUNNER_PYTHON`, else `python3`), handing it its inputs and
//! taking back its result as parquet files, never through the warehouse,
//! which only runner holds. The SQL around that (exports, the table or
//! incremental build) is `executor::python`'s. Nothing here touches the
//! database.

mod literal;
pub(crate) mod module;
pub mod parse;
pub mod process;

use crate::config_tree::ConfigMap;
use parse::RefCall;
use serde_yaml::Value;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The config keys where dbt keeps what `dbt.config.get(…)` calls read
/// (they are in the manifest's `config` too).
pub(crate) const KEYS_USED: &str = "config_keys_used";
pub(crate) const KEYS_DEFAULTS: &str = "config_keys_defaults";

/// A planned Python model: what runs, besides the node's config and relation.
#[derive(Debug, Clone, PartialEq)]
pub struct PyModel {
    /// The file as written.
    pub code: String,
    /// Every `dbt.ref` call, repeats removed, in order.
    pub refs: Vec<RefCall>,
    /// Every `dbt.source` call, repeats removed, in order.
    pub sources: Vec<(String, String)>,
}

impl PyModel {
    pub(crate) fn new(code: &str, parsed: &parse::Parsed) -> PyModel {
        let mut refs: Vec<RefCall> = Vec::new();
        for r in &parsed.refs {
            if !refs.contains(r) {
                refs.push(r.clone());
            }
        }
        let mut sources = Vec::new();
        for s in &parsed.sources {
            if !sources.contains(s) {
                sources.push(s.clone());
            }
        }
        PyModel { code: parse::without_bom(code).to_string(), refs, sources }
    }
}

/// The config a Python model's own calls set, in dbt's order: its
/// `dbt.config(…)` keys, then the keys its `dbt.config.get(…)` calls read
/// and their defaults.
pub(crate) fn own_config(parsed: &parse::Parsed) -> ConfigMap {
    let mut cfg: ConfigMap = parsed.config.clone().into_iter().collect();
    if !parsed.keys_used.is_empty() {
        let (keys, defaults): (Vec<Value>, Vec<Value>) =
            parsed.keys_used.iter().map(|(k, d)| (Value::String(k.clone()), d.clone())).unzip();
        cfg.insert(KEYS_USED.to_string(), Value::Sequence(keys));
        cfg.insert(KEYS_DEFAULTS.to_string(), Value::Sequence(defaults));
    }
    cfg
}

/// What one worker needs to run Python models.
#[derive(Debug, Clone)]
pub struct Worker {
    pub runtime: Arc<process::Runtime>,
    /// `target/python/`: each model run gets a folder below it, removed after.
    pub scratch: PathBuf,
    /// Set to stop the running model (the worker's interrupt handle sets it).
    pub stop: Arc<AtomicBool>,
}
