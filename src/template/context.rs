//! dbt's Jinja globals that do not depend on the node being rendered:
//! `log`, `print`, `return`, `exceptions`, `run_query`, `statement` /
//! `load_result`, `modules`, `tojson`/`fromjson`/`toyaml`/`fromyaml`, `zip`,
//! `set`, `invocation_id`, `run_started_at`, and dbt's filters
//! (`as_bool`, `as_number`, `as_native`, `as_text`, `is_list`).
//!
//! Per-render facts (is this the execute pass, which connection runs
//! `run_query`) live in a hidden [`Runtime`] context value that macro calls
//! forward; nothing here holds a connection of its own.

use super::pyitertools::itertools_module;
use super::pyre::re_module;
use super::pytime::{datetime_module, pytz_module, PyDateTime};
use super::query::{QueryFn, QueryTable};
use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, Serde, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Context key of the per-render [`Runtime`].
pub const RUNTIME: &str = "__runner";

/// What one render may do beyond producing text.
pub struct Runtime {
    /// Runs `run_query` SQL on the node's connection (render pass only).
    pub query: Option<QueryFn>,
    /// Renders done at plan time (custom generic tests) print no logs.
    pub quiet: bool,
    /// `{% call statement('name') %}` results for `load_result('name')`.
    results: Mutex<BTreeMap<String, Value>>,
}

impl Runtime {
    pub fn new(query: Option<QueryFn>, quiet: bool) -> Value {
        Value::from_object(Runtime { query, quiet, results: Mutex::default() })
    }

    /// Keeps a result for `load_result(name)` (`statement`, `store_result`).
    pub fn store(&self, name: String, result: Value) {
        self.results.lock().unwrap_or_else(|p| p.into_inner()).insert(name, result);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("query", &self.query.is_some()).field("quiet", &self.quiet).finish()
    }
}

impl Object for Runtime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

pub fn runtime(state: &State) -> Option<Arc<Runtime>> {
    state.lookup(RUNTIME)?.downcast_object::<Runtime>()
}

/// dbt's `execute`: false while edges are discovered, true when the SQL runs.
pub fn executing(state: &State) -> bool {
    state.lookup("execute").is_some_and(|v| v.is_true())
}

pub fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Runs SQL on the node's connection; `None` outside the execute pass, as in dbt.
pub fn query(state: &State, sql: &str, who: &str) -> Result<Option<QueryTable>, Error> {
    query_with(state, sql, &[], who)
}

/// [`query`] of a text with `?` parameters (runner's own catalog reads).
pub fn query_with(state: &State, sql: &str, params: &[&str], who: &str) -> Result<Option<QueryTable>, Error> {
    if !executing(state) {
        return Ok(None);
    }
    let ran = match (runtime(state).and_then(|r| r.query.clone()), super::query::scoped()) {
        (Some(run), _) => run(sql, params),
        (None, Some(run)) => run(sql, params),
        (None, None) => {
            return Err(invalid(format!("`{who}` needs a database connection, and this render has none"))
                .with_source(QueryUnavailable))
        }
    };
    ran.map(Some).map_err(|e| invalid(format!("`{who}` failed: {e}")))
}

/// Marks the error above, so callers can tell "no connection" from a SQL error.
#[derive(Debug)]
pub struct QueryUnavailable;

impl fmt::Display for QueryUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no database connection")
    }
}

impl std::error::Error for QueryUnavailable {}

/// What `return(x)` carries up to the macro call that catches it.
#[derive(Debug)]
pub struct Returned(pub Value);

impl fmt::Display for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`return` used outside a macro")
    }
}

impl std::error::Error for Returned {}

/// `exceptions.raise_compiler_error(msg)`: the message, without minijinja's wording.
#[derive(Debug)]
pub struct Raised(pub String);

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "compilation error: {}", self.0)
    }
}

impl std::error::Error for Raised {}

/// The value a `return(x)` somewhere in this error's chain carries.
pub fn returned(e: &Error) -> Option<Value> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Returned>() {
            return Some(r.0.clone());
        }
        src = s.source();
    }
    None
}

/// One console line as dbt prints info logs: `HH:MM:SS  message`.
///
/// The run's report holds the stdout lock for the whole run, so a worker
/// thread writes through its own descriptor of the same stdout, one whole
/// line per write (appending, so a redirected file is not overwritten).
pub fn print_log(msg: &str) {
    print_raw(&format!("{}  {msg}", chrono::Local::now().format("%H:%M:%S")));
}

/// `text` and a line break on stdout, as [`print_log`] writes (agate's
/// `print_table` and Python's `print` write to stdout without a time).
pub(super) fn print_raw(text: &str) {
    let line = format!("{text}\n");
    let direct = std::fs::OpenOptions::new().append(true).open("/dev/stdout");
    // A closed stdout must not fail the render.
    let _ = match direct {
        Ok(mut f) => f.write_all(line.as_bytes()),
        Err(_) => std::io::stderr().write_all(line.as_bytes()),
    };
}

/// Logs print only while a node really runs: the execute pass with the
/// node's connection. Renders without one (planning, writing
/// `target/compiled/` before the run) stay quiet, so each line prints once.
pub(super) fn logging(state: &State) -> bool {
    let rt = runtime(state);
    executing(state)
        && !rt.as_ref().is_some_and(|r| r.quiet)
        && (rt.is_some_and(|r| r.query.is_some()) || super::query::scoped().is_some())
}

/// JSON as Python's `json.dumps` writes it (dbt's `tojson`): `{"a": [1, 2]}`.
fn json(v: &Value) -> Result<String, Error> {
    fn write(j: &serde_json::Value, out: &mut String) {
        match j {
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(x, out);
                }
                out.push(']');
            }
            serde_json::Value::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push_str(": ");
                    write(x, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let j = serde_json::to_value(v).map_err(|e| invalid(format!("cannot convert to json: {e}")))?;
    let mut out = String::new();
    write(&j, &mut out);
    Ok(out)
}

/// Registers the node-independent globals and filters.
pub fn install(env: &mut Environment<'static>, invocation_id: &str, run_started_at: &PyDateTime) {
    env.set_unknown_method_callback(super::pyobj::unknown_method);
    env.add_function(super::pyobj::MUT_FN, super::pyobj::make_mut);
    env.add_global("invocation_id", invocation_id.to_string());
    // dbt's base context: the dbt-core version runner answers as (`require-dbt-version` too).
    env.add_global("dbt_version", crate::project::version::DBT_VERSION);
    // dbt's base context: the hex MD5 of a text's UTF-8 bytes.
    env.add_function("local_md5", |text: &str| crate::data_tests::naming::md5_hex(text));
    env.add_global("run_started_at", run_started_at.clone().value());
    env.add_global(
        "modules",
        Value::from_pairs([
            ("datetime", datetime_module()),
            ("pytz", pytz_module()),
            ("re", re_module()),
            ("itertools", itertools_module()),
        ]),
    );
    super::pyops::install(env);
    env.add_function("log", |state: &State, msg: Value, info: Option<bool>, kwargs: Kwargs| -> Result<String, Error> {
        let info = info.or(kwargs.get::<Option<bool>>("info")?);
        kwargs.assert_all_used()?;
        if info.unwrap_or(false) && logging(state) {
            print_log(&msg.to_string());
        }
        Ok(String::new())
    });
    // dbt's `print` is Python's: the text alone, no time (codegen's output
    // is copied from it).
    env.add_function("print", |state: &State, msg: Value| {
        if logging(state) {
            print_raw(&msg.to_string());
        }
        Ok(String::new())
    });
    env.add_function("return", |v: Option<Value>| -> Result<Value, Error> {
        Err(invalid("`return` used outside a macro").with_source(Returned(v.unwrap_or(Value::from(())))))
    });
    env.add_global(
        "exceptions",
        Value::from_pairs([
            (
                "raise_compiler_error",
                Value::from_function(|msg: String, _node: Option<Value>, _kwargs: Kwargs| -> Result<String, Error> {
                    Err(invalid(format!("compilation error: {msg}")).with_source(Raised(msg)))
                }),
            ),
            (
                "raise_not_implemented",
                Value::from_function(|msg: String| -> Result<String, Error> {
                    Err(invalid(format!("not implemented: {msg}")).with_source(Raised(msg)))
                }),
            ),
            (
                "warn",
                Value::from_function(|state: &State, msg: String| -> Result<String, Error> {
                    if logging(state) {
                        print_log(&format!("[WARNING]: {msg}"));
                    }
                    Ok(String::new())
                }),
            ),
        ]),
    );
    env.add_function("run_query", |state: &State, sql: String| -> Result<Value, Error> {
        Ok(query(state, &sql, "run_query")?.map(QueryTable::value).unwrap_or(Value::from(())))
    });
    env.add_function("statement", statement);
    env.add_function("load_result", |state: &State, name: String| -> Result<Value, Error> {
        let rt = runtime(state);
        let found = rt.and_then(|r| r.results.lock().unwrap_or_else(|p| p.into_inner()).get(&name).cloned());
        Ok(found.unwrap_or(Value::from(())))
    });
    env.add_function("tojson", |v: Value, _default: Option<Value>, kwargs: Kwargs| -> Result<String, Error> {
        // Keys come out sorted either way: minijinja's maps keep them in order.
        let _: Option<bool> = kwargs.get("sort_keys")?;
        kwargs.assert_all_used()?;
        json(&v)
    });
    env.add_function("fromjson", |s: String, default: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
        let default = default.or(kwargs.get::<Option<Value>>("default")?);
        kwargs.assert_all_used()?;
        match serde_json::from_str::<serde_json::Value>(&s) {
            Ok(v) => Ok(Value::from(Serde(v))),
            Err(e) => default.ok_or_else(|| invalid(format!("invalid json: {e}"))),
        }
    });
    env.add_function("toyaml", |v: Value, _default: Option<Value>, kwargs: Kwargs| -> Result<String, Error> {
        let _: Option<bool> = kwargs.get("sort_keys")?;
        kwargs.assert_all_used()?;
        serde_yaml::to_string(&v).map_err(|e| invalid(format!("cannot convert to yaml: {e}")))
    });
    env.add_function("fromyaml", |s: String, default: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
        let default = default.or(kwargs.get::<Option<Value>>("default")?);
        kwargs.assert_all_used()?;
        match serde_yaml::from_str::<serde_yaml::Value>(&s) {
            Ok(v) => Ok(Value::from(Serde(v))),
            Err(e) => default.ok_or_else(|| invalid(format!("invalid yaml: {e}"))),
        }
    });
    env.add_function("zip", |lists: Rest<Value>| -> Result<Value, Error> {
        let iters: Vec<Vec<Value>> =
            lists.iter().map(|l| l.try_iter().map(Iterator::collect)).collect::<Result<_, _>>()?;
        let n = iters.iter().map(Vec::len).min().unwrap_or(0);
        Ok(Value::from(
            (0..n).map(|i| Value::from(iters.iter().map(|l| l[i].clone()).collect::<Vec<_>>())).collect::<Vec<_>>(),
        ))
    });
    // dbt's `set()` is a Python set: no order of its own, so two sets with
    // the same items are equal (`set(a) != set(b)` in dbt_utils' `equality`).
    // A sorted list without duplicates behaves so.
    let set = |v: Value| -> Result<Value, Error> {
        let mut out: Vec<Value> = v.try_iter()?.collect();
        out.sort();
        out.dedup();
        Ok(Value::from(out))
    };
    env.add_function("set", set);
    env.add_function("set_strict", set);
    env.add_function("cycler", minijinja_contrib::globals::cycler);
    env.add_function("joiner", minijinja_contrib::globals::joiner);
    env.add_filter("truncate", minijinja_contrib::filters::truncate);
    env.add_filter("striptags", minijinja_contrib::filters::striptags);
    env.add_filter("filesizeformat", minijinja_contrib::filters::filesizeformat);
    // dbt's text renderer (models, macros, hooks) passes these through as
    // they are; only its native renderer of YAML values reads them
    // (`yaml_value`, which replaces them).
    for name in ["as_text", "as_bool", "as_number", "as_native"] {
        env.add_filter(name, |v: Value| v);
    }
    // `x | list` is a new Python list, which `.pop()` and `.append()` change
    // (codegen: `(nodes | selectattr(…) | list).pop()`).
    env.add_filter("list", |state: &State, v: Value| -> Result<Value, Error> {
        super::pyobj::make_mut(minijinja::filters::list(state, v)?)
    });
    env.add_filter("is_list", |v: Value| v.kind() == minijinja::value::ValueKind::Seq && !v.is_kwargs());
}

/// `{% call statement('name', fetch_result=True) %}sql{% endcall %}`: runs the
/// body in the execute pass and keeps the result for `load_result('name')`.
fn statement(state: &mut State, name: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let caller: Option<Value> = kwargs.get("caller")?;
    let fetch: Option<bool> = kwargs.get("fetch_result")?;
    for k in ["auto_begin", "language"] {
        let _: Option<Value> = kwargs.get(k)?;
    }
    kwargs.assert_all_used()?;
    let Some(caller) = caller else { return Err(invalid("`statement` is used as `{% call statement(...) %}`")) };
    if !executing(state) {
        return Ok(Value::from(""));
    }
    let sql = caller.call(state, &[])?;
    let table = query(state, &sql.to_string(), "statement")?.unwrap_or_default();
    if let (Some(name), Some(rt)) = (name, runtime(state)) {
        let data: Vec<Value> = table.rows.iter().map(|r| Value::from(r.clone())).collect();
        let result = Value::from_pairs([
            ("table", if fetch.unwrap_or(false) { table.value() } else { Value::from(()) }),
            ("data", Value::from(data)),
            ("response", super::provider::AdapterResponse::ok()),
        ]);
        rt.store(name, result);
    }
    Ok(Value::from(""))
}
