//! The rest of dbt's context members that are plain values or functions:
//! `diff_of_two_dicts`, `try_or_compiler_error`, `store_result` /
//! `store_raw_result`, `sql_now`, `dbt_metadata_envs` and the per-render
//! `thread_id`. `invocation_args_dict` comes in with the run's values (the
//! app builds it from the command line); `write` and `load_agate_table`
//! belong to custom materializations, which runner does not run, and stay
//! undefined so a template using them fails with their name.
//!
//! Nothing here touches a connection: stored results go into the render's
//! [`Runtime`](super::context::Runtime), where `load_result` reads them.

use super::context::{invalid, runtime, Raised};
use super::query::QueryTable;
use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, Value};
use minijinja::{Environment, Error, State};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The name dbt gives the node workers' threads (`Thread-1 (worker)`), which
/// `thread_id` and run_results.json's `thread_id` show.
pub fn worker_thread_name(worker: usize) -> String {
    format!("Thread-{} (worker)", worker + 1)
}

/// `thread_id` of a render on the current thread: a worker's name, else
/// Python's main thread (parsing, hooks, `run-operation`).
pub fn thread_id() -> Value {
    match std::thread::current().name() {
        Some(n) if n.starts_with("Thread-") => Value::from(n),
        _ => Value::from("MainThread"),
    }
}

/// Registers the globals; `metadata_envs` is `DBT_ENV_CUSTOM_ENV_*` without the prefix.
pub fn install(env: &mut Environment<'static>, metadata_envs: &BTreeMap<String, String>) {
    env.add_global("dbt_metadata_envs", Value::from(minijinja::value::Serde(metadata_envs)));
    // dbt's `sql_now`: the adapter's `date_function()`, `now()` for DuckDB.
    env.add_global("sql_now", "now()");
    env.add_function("diff_of_two_dicts", diff_of_two_dicts);
    env.add_function("try_or_compiler_error", try_or_compiler_error);
    env.add_function("store_result", store_result);
    env.add_function("store_raw_result", store_raw_result);
}

/// `dict_a` minus `dict_b`, both `{key: [text]}`, keys and texts compared
/// without case; what is left keeps `dict_a`'s spelling (dbt's grants use it).
fn diff_of_two_dicts(a: Value, b: Value) -> Result<Value, Error> {
    let fold = |v: &Value| v.as_str().map(str::to_lowercase).unwrap_or_else(|| v.to_string().to_lowercase());
    let mut lowered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in b.try_iter()? {
        let items = b.get_item(&k)?;
        lowered.insert(fold(&k), items.try_iter()?.map(|x| fold(&x)).collect());
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for k in a.try_iter()? {
        let items = a.get_item(&k)?;
        match lowered.get(&fold(&k)) {
            Some(other) => {
                let left: Vec<Value> = items.try_iter()?.filter(|x| !other.contains(&fold(x))).collect();
                if !left.is_empty() {
                    out.push((k, Value::from(left)));
                }
            }
            None => out.push((k, items)),
        }
    }
    Ok(Value::from_pairs(out))
}

/// `try_or_compiler_error(message, func, *args, **kwargs)`: `func`'s result,
/// or a compilation error saying `message` when it raises.
fn try_or_compiler_error(state: &mut State, message: String, func: Value, args: Rest<Value>) -> Result<Value, Error> {
    func.call(state, &args).map_err(|_| invalid(format!("compilation error: {message}")).with_source(Raised(message)))
}

/// `store_result(name, response, agate_table=none)`: what `load_result(name)` returns.
fn store_result(state: &State, name: String, response: Value, table: Option<Value>) -> Result<String, Error> {
    store(state, name, response, table)
}

/// `store_raw_result(name, message=, code=, rows_affected=, agate_table=)`:
/// [`store_result`] with a response made of those fields.
fn store_raw_result(state: &State, name: String, kwargs: Kwargs) -> Result<String, Error> {
    let field = |k: &str| kwargs.get::<Option<Value>>(k).map(|v| v.unwrap_or(Value::from(())));
    let response =
        AdapterResponse { message: field("message")?, code: field("code")?, rows_affected: field("rows_affected")? }
            .value();
    let table: Option<Value> = kwargs.get("agate_table")?;
    kwargs.assert_all_used()?;
    store(state, name, response, table)
}

fn store(state: &State, name: String, response: Value, table: Option<Value>) -> Result<String, Error> {
    let table = table.filter(|t| !t.is_none()).unwrap_or_else(|| QueryTable::default().value());
    let rows = table.get_attr("rows")?;
    let data: Vec<Value> = match rows.is_undefined() {
        true => Vec::new(),
        false => rows.try_iter()?.map(|r| r.try_iter().map(Value::from_iter)).collect::<Result<_, _>>()?,
    };
    let result = Value::from_pairs([("response", response), ("data", Value::from(data)), ("table", table)]);
    if let Some(rt) = runtime(state) {
        rt.store(name, result);
    }
    Ok(String::new())
}

/// dbt's `AdapterResponse`: what a statement's result says of it. It
/// prints as its message; `code`, `rows_affected` and `query_id` are
/// attributes; `_message` is not one, as dbt's sandbox hides every
/// attribute starting with `_`.
#[derive(Debug)]
pub struct AdapterResponse {
    pub message: Value,
    pub code: Value,
    pub rows_affected: Value,
}

impl AdapterResponse {
    /// dbt-duckdb's response to every statement: `OK`, nothing else.
    pub fn ok() -> Value {
        AdapterResponse { message: Value::from("OK"), code: Value::from(()), rows_affected: Value::from(()) }.value()
    }

    pub fn value(self) -> Value {
        Value::from_object(self)
    }
}

impl Object for AdapterResponse {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "code" => Some(self.code.clone()),
            "rows_affected" => Some(self.rows_affected.clone()),
            "query_id" => Some(Value::from(())),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message.as_str() {
            Some(m) => f.write_str(m),
            None if self.message.is_none() => f.write_str("None"),
            None => write!(f, "{}", self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        install(&mut env, &BTreeMap::from([("FOO".to_string(), "bar".to_string())]));
        env.render_str(src, minijinja::context! {}).expect("renders")
    }

    #[test]
    fn the_difference_of_two_dicts_ignores_case_and_keeps_the_first_spelling() {
        // dbt's own docstring example.
        let out = render(
            "{{ diff_of_two_dicts({'key_x': ['value_1', 'VALUE_2'], 'KEY_Y': ['value_3']}, \
             {'KEY_X': ['Value_1'], 'key_z': ['value_4']}) | tojson }}",
        );
        assert_eq!(out, r#"{"KEY_Y": ["value_3"], "key_x": ["VALUE_2"]}"#);
    }

    #[test]
    fn try_or_compiler_error_returns_the_result_or_raises_the_message() {
        assert_eq!(render("{{ try_or_compiler_error('bad', range, 3) | list }}"), "[0, 1, 2]");
        let mut env = Environment::new();
        install(&mut env, &BTreeMap::new());
        let err = env.render_str("{{ try_or_compiler_error('no good', range, 'x') }}", ()).expect_err("raises");
        assert!(err.to_string().contains("compilation error: no good"), "{err}");
    }

    #[test]
    fn metadata_envs_and_sql_now_are_values() {
        assert_eq!(render("{{ dbt_metadata_envs.FOO }} {{ sql_now }}"), "bar now()");
    }

    #[test]
    fn thread_ids_name_workers_and_the_main_thread() {
        assert_eq!(thread_id().as_str(), Some("MainThread"));
        let named = std::thread::Builder::new().name(worker_thread_name(1)).spawn(thread_id).expect("spawns");
        assert_eq!(named.join().expect("joins").as_str(), Some("Thread-2 (worker)"));
    }
}
