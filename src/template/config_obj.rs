//! dbt's `config` in Jinja: a call, `config(materialized='table')`, and an
//! object, `config.get('key', default)` / `config.require('key')`.
//!
//! While dbt parses a node the call records its keywords (the planner reads
//! them), `config.set(key, value)` records one key the same way (it is how
//! `set_sql_header` sets the header), and `get` sees what has been recorded
//! so far; when the node runs the call and `set` do nothing and `get` reads
//! the node's config as the planner decided it. It owns no config rules:
//! precedence is the planner's.

use super::{lock, to_yaml, Recorded};
use crate::config_tree::ConfigMap;
use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Serde, Value};
use minijinja::{Error, ErrorKind, State};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub(super) struct ConfigObj {
    /// Set in the parse (resolve) pass: where `config(...)` records.
    recorder: Option<Arc<Mutex<Recorded>>>,
    /// The node's config (run time).
    values: Arc<ConfigMap>,
}

impl ConfigObj {
    pub(super) fn value(recorder: Option<Arc<Mutex<Recorded>>>, values: Arc<ConfigMap>) -> Value {
        Value::from_object(ConfigObj { recorder, values })
    }

    fn lookup(&self, key: &str) -> Option<Value> {
        if let Some(rec) = &self.recorder {
            if let Some(v) = lock(rec).config.get(key) {
                return Some(Value::from(Serde(v.clone())));
            }
        }
        match self.values.get(key) {
            Some(v) => Some(Value::from(Serde(v.clone()))),
            None if key == "snapshot_table_column_names" => self.snapshot_columns(),
            None => None,
        }
    }

    /// dbt's `snapshot_table_column_names` of a snapshot's config: each meta
    /// column's name, as `snapshot_meta_column_names` renames it or not.
    fn snapshot_columns(&self) -> Option<Value> {
        let snapshot = self.values.get("materialized").and_then(serde_yaml::Value::as_str) == Some("snapshot");
        if !snapshot {
            return None;
        }
        let renamed = self.values.get("snapshot_meta_column_names");
        let names = ["dbt_valid_from", "dbt_valid_to", "dbt_scd_id", "dbt_updated_at", "dbt_is_deleted"].map(|k| {
            let name = renamed.and_then(|m| m.get(k)).and_then(serde_yaml::Value::as_str).unwrap_or(k);
            (k, Value::from(name))
        });
        Some(Value::from_pairs(names))
    }
}

impl Object for ConfigObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (kwargs,): (Kwargs,) = from_args(args)?;
        if let Some(rec) = &self.recorder {
            let mut r = lock(rec);
            for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
                let v: Value = kwargs.get(&key)?;
                r.config.insert(key, to_yaml(&v));
            }
        } else {
            // Nothing to record at run time; every keyword counts as read.
            for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
                let _: Value = kwargs.get(&key)?;
            }
        }
        Ok(Value::from(""))
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "get" => {
                let (key, default, kwargs): (&str, Option<Value>, Kwargs) = from_args(args)?;
                let default = default.or(kwargs.get::<Option<Value>>("default")?);
                let _: Option<Value> = kwargs.get("validator")?;
                kwargs.assert_all_used()?;
                Ok(self.lookup(key).unwrap_or_else(|| default.unwrap_or(Value::from(()))))
            }
            "require" => {
                let (key, kwargs): (&str, Kwargs) = from_args(args)?;
                let _: Option<Value> = kwargs.get("validator")?;
                kwargs.assert_all_used()?;
                match self.lookup(key) {
                    Some(v) => Ok(v),
                    // dbt requires it only once the node runs.
                    None if self.recorder.is_some() => Ok(Value::from(())),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("required config `{key}` was not set (hint: set it with `config({key}=…)` or in YAML)"),
                    )),
                }
            }
            // dbt's `set` is a call with one keyword: recorded while parsing,
            // nothing when the node runs.
            "set" => {
                let (key, value): (&str, Value) = from_args(args)?;
                if let Some(rec) = &self.recorder {
                    lock(rec).config.insert(key.to_string(), to_yaml(&value));
                }
                Ok(Value::from(""))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
