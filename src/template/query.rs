//! What `run_query(sql)` returns: an agate-like table, and the callback that
//! runs the SQL.
//!
//! dbt hands macros an agate `Table`; projects use `.columns[0].values()`,
//! `.column_names`, `.rows`, `rows[0][0]`, `row['name']` and iteration over
//! rows. The template side only calls the callback a render was given; the
//! executor gives one over the node's own connection with [`on_connection`]
//! (as dbt runs `run_query` on the node's connection, inside its transaction
//! when one is open), so it need not leave the worker's thread. The
//! connection is the executor's; this module never opens a database.

use super::pytime::{PyDate, PyDateTime};
use duckdb::types::{TimeUnit, Value as Db};
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// Runs one SQL text, with the values of its `?` parameters (none for
/// `run_query`'s text), and returns its rows; the error is DuckDB's message.
pub type QueryFn = Arc<dyn Fn(&str, &[&str]) -> Result<QueryTable, String> + Send + Sync>;

/// [`QueryFn`] for the renders of one thread: it may hold what must stay on
/// that thread (a worker's own connection).
pub type LocalQuery = Rc<dyn Fn(&str, &[&str]) -> Result<QueryTable, String>>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl QueryTable {
    pub fn value(self) -> Value {
        Value::from_object(Table(Arc::new(self)))
    }
}

/// The table: `.columns`, `.column_names`, `.rows`, iteration over rows, `[i]`.
#[derive(Debug)]
struct Table(Arc<QueryTable>);

/// One row: indexable by position or column name, iterates its values.
#[derive(Debug)]
struct Row(Arc<QueryTable>, usize);

/// `.columns`: indexable by position or name.
#[derive(Debug)]
struct Columns(Arc<QueryTable>);

/// One column: `.name`, `.values()`.
#[derive(Debug)]
struct Column(Arc<QueryTable>, usize);

fn row_values(t: &Arc<QueryTable>) -> Vec<Value> {
    (0..t.rows.len()).map(|i| Value::from_object(Row(t.clone(), i))).collect()
}

fn position(len: usize, key: &Value) -> Option<usize> {
    let i = key.as_i64()?;
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

impl Object for Table {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("columns") => Some(Value::from_object(Columns(self.0.clone()))),
            Some("column_names") => Some(Value::from(self.0.columns.clone())),
            Some("rows") => Some(Value::from(row_values(&self.0))),
            Some(_) => None,
            None => position(self.0.rows.len(), key).map(|i| Value::from_object(Row(self.0.clone(), i))),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(row_values(&self.0))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.rows.len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        // An agate table is an object, so `{% if results %}` holds even when empty.
        true
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "print_table" => {
                let (kwargs,): (minijinja::value::Kwargs,) = minijinja::value::from_args(args)?;
                let mut limits = super::print_table::Limits::default();
                for (key, slot) in [
                    ("max_rows", &mut limits.max_rows),
                    ("max_columns", &mut limits.max_columns),
                    ("max_column_width", &mut limits.max_column_width),
                    ("max_precision", &mut limits.max_precision),
                ] {
                    if let Some(n) = kwargs.get::<Option<usize>>(key)? {
                        *slot = n;
                    }
                }
                for key in ["output", "locale"] {
                    let _: Option<Value> = kwargs.get(key)?;
                }
                kwargs.assert_all_used()?;
                if super::context::logging(state) {
                    let lines = super::print_table::draw(&self.0.columns, &self.0.rows, limits);
                    super::context::print_raw(&lines.join("\n"));
                }
                Ok(Value::from(()))
            }
            "column_names" if args.is_empty() => Ok(Value::from(self.0.columns.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "| {} |", self.0.columns.join(" | "))?;
        for r in &self.0.rows {
            let cells: Vec<String> = r.iter().map(ToString::to_string).collect();
            write!(f, "\n| {} |", cells.join(" | "))?;
        }
        Ok(())
    }
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let row = &self.0.rows[self.1];
        let i = match key.as_str() {
            Some(name) => self.0.columns.iter().position(|c| c == name)?,
            None => position(row.len(), key)?,
        };
        row.get(i).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.rows[self.1].clone())
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, _: &[Value]) -> Result<Value, Error> {
        let row = &self.0.rows[self.1];
        match method {
            "keys" => Ok(Value::from(self.0.columns.clone())),
            "values" => Ok(Value::from(row.clone())),
            "items" => Ok(Value::from(
                self.0
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| Value::from(vec![Value::from(c.clone()), v.clone()]))
                    .collect::<Vec<_>>(),
            )),
            "dict" => Ok(Value::from_pairs(self.0.columns.iter().cloned().zip(row.iter().cloned()))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for Columns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = match key.as_str() {
            Some(name) => self.0.columns.iter().position(|c| c == name)?,
            None => position(self.0.columns.len(), key)?,
        };
        Some(Value::from_object(Column(self.0.clone(), i)))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.all())
    }

    /// agate's `MappedSequence`: `keys()`, `values()`, `items()`, `get(name)`
    /// (dbt_utils' `get_query_results_as_dict` walks `columns.items()`).
    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let names = || self.0.columns.iter().cloned().map(Value::from);
        match method {
            "keys" => Ok(Value::from(names().collect::<Vec<_>>())),
            "values" => Ok(Value::from(self.all())),
            "items" => {
                Ok(Value::from(names().zip(self.all()).map(|(k, v)| Value::from(vec![k, v])).collect::<Vec<_>>()))
            }
            "get" => {
                let (key, default): (Value, Option<Value>) = minijinja::value::from_args(args)?;
                Ok(self.get_value(&key).or(default).unwrap_or(Value::from(())))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Columns {
    fn all(self: &Arc<Self>) -> Vec<Value> {
        (0..self.0.columns.len()).map(|i| Value::from_object(Column(self.0.clone(), i))).collect()
    }
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "name").then(|| Value::from(self.0.columns[self.1].clone()))
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, _: &[Value]) -> Result<Value, Error> {
        match method {
            "values" => Ok(Value::from(self.0.rows.iter().map(|r| r[self.1].clone()).collect::<Vec<_>>())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.columns[self.1])
    }
}

fn micros(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v / 1000,
    }
}

/// A DuckDB value as agate would hand it to Jinja: numbers, text, dates.
#[allow(unreachable_patterns)]
pub fn to_jinja(v: Db) -> Value {
    match v {
        Db::Null => Value::from(()),
        Db::Boolean(b) => Value::from(b),
        Db::TinyInt(i) => Value::from(i),
        Db::SmallInt(i) => Value::from(i),
        Db::Int(i) => Value::from(i),
        Db::BigInt(i) => Value::from(i),
        Db::HugeInt(i) => Value::from(i),
        Db::UHugeInt(i) => Value::from(i),
        Db::UTinyInt(i) => Value::from(i),
        Db::USmallInt(i) => Value::from(i),
        Db::UInt(i) => Value::from(i),
        Db::UBigInt(i) => Value::from(i),
        Db::Float(f) => Value::from(f as f64),
        Db::Double(f) => Value::from(f),
        Db::Decimal(d) => {
            let text = d.to_string();
            text.parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(text))
        }
        Db::Timestamp(unit, v) => match chrono::DateTime::from_timestamp_micros(micros(unit, v)) {
            Some(t) => PyDateTime { naive: t.naive_utc(), tz: None, lmt: false }.value(),
            None => Value::from(v),
        },
        Db::Date32(days) => match chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(days as i64)))
        {
            Some(d) => Value::from_object(PyDate(d)),
            None => Value::from(days),
        },
        Db::Time64(unit, v) => {
            let us = micros(unit, v);
            let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                (us / 1_000_000) as u32,
                ((us % 1_000_000) * 1000) as u32,
            );
            Value::from(t.map(|t| t.to_string()).unwrap_or_else(|| v.to_string()))
        }
        Db::Text(s) | Db::Enum(s) => Value::from(s),
        Db::Blob(b) | Db::Geometry(b) => Value::from(b),
        Db::Interval { months, days, nanos } => Value::from(format!("{months} months {days} days {nanos} ns")),
        Db::List(items) | Db::Array(items) => Value::from(items.into_iter().map(to_jinja).collect::<Vec<_>>()),
        Db::Struct(fields) => Value::from_pairs(fields.iter().map(|(k, v)| (k.clone(), to_jinja(v.clone())))),
        Db::Map(m) => Value::from_pairs(m.iter().map(|(k, v)| (to_jinja(k.clone()).to_string(), to_jinja(v.clone())))),
        Db::Union(v) => to_jinja(*v),
        // Other builds of the `duckdb` crate have more kinds of value; they show as debug text.
        other => Value::from(format!("{other:?}")),
        // `duckdb::types::Value` is non-exhaustive: a newer type shows as text.
        other => Value::from(format!("{other:?}")),
    }
}

/// Runs `sql` on `conn`; text with several statements runs as a batch with no rows.
/// A text with parameters is one of runner's own catalog reads, the same text
/// for every relation: it is prepared once per connection and kept (DuckDB
/// binds it again, against the catalog as it is, at each execution), which
/// halves what each read costs (parsing, and a second bind and plan).
pub fn run(conn: &duckdb::Connection, sql: &str, params: &[&str]) -> Result<QueryTable, String> {
    if !params.is_empty() {
        let mut stmt = conn.prepare_cached(sql).map_err(|e| e.to_string())?;
        return read(stmt.query(duckdb::params_from_iter(params)).map_err(|e| e.to_string())?);
    }
    let mut stmt = match conn.prepare(sql) {
        Ok(s) => s,
        Err(prepare_err) => {
            // `prepare` refuses several statements; nothing ran, so a batch is safe.
            return match conn.execute_batch(sql) {
                Ok(()) => Ok(QueryTable::default()),
                Err(_) => Err(prepare_err.to_string()),
            };
        }
    };
    read(stmt.query([]).map_err(|e| e.to_string())?)
}

/// Every row of a statement's result, its values as Jinja sees them.
fn read(mut rows: duckdb::Rows<'_>) -> Result<QueryTable, String> {
    let columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
    // A column of DuckDB's NULL type (`select null as x`) holds only nulls;
    // the duckdb crate cannot read one (it panics), so it is not asked.
    let null_typed: Vec<bool> = match rows.as_ref() {
        Some(s) => {
            (0..columns.len()).map(|i| matches!(s.column_type(i), duckdb::arrow::datatypes::DataType::Null)).collect()
        }
        None => vec![false; columns.len()],
    };
    let mut out = QueryTable { columns, rows: Vec::new() };
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut cells = Vec::with_capacity(out.columns.len());
        for (i, null) in null_typed.iter().enumerate() {
            cells.push(match null {
                true => Value::from(()),
                false => to_jinja(row.get::<_, Db>(i).map_err(|e| e.to_string())?),
            });
        }
        out.rows.push(cells);
    }
    Ok(out)
}

/// A [`LocalQuery`] over a connection its owner keeps using: the node's own,
/// so what `run_query` runs joins the node's open transaction and sees what
/// it wrote. The owner never renders while a statement of its is running.
pub fn on_connection(conn: Rc<duckdb::Connection>) -> LocalQuery {
    Rc::new(move |sql: &str, params: &[&str]| run(&conn, sql, params))
}

/// A [`QueryFn`] over a connection of its own (tests render with one).
#[cfg(test)]
pub fn from_connection(conn: duckdb::Connection) -> QueryFn {
    let conn = std::sync::Mutex::new(conn);
    Arc::new(move |sql: &str, params: &[&str]| {
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        run(&c, sql, params)
    })
}

thread_local! {
    /// The query callback of the render running on this thread, if any.
    static SCOPED: std::cell::RefCell<Option<LocalQuery>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` (a render on this thread) with `run_query` answered by `query`.
pub fn with_query<T>(query: QueryFn, f: impl FnOnce() -> T) -> T {
    with_local_query(Rc::new(move |sql: &str, params: &[&str]| query(sql, params)), f)
}

/// Runs `f` (renders on this thread) with `run_query` answered by `query`.
/// A thread-scoped callback, so the executor can wrap any render entry point
/// (`render`, `render_sql`, ephemeral CTEs) without changing its signature.
pub fn with_local_query<T>(query: LocalQuery, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<LocalQuery>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            SCOPED.with(|s| *s.borrow_mut() = prev);
        }
    }
    let prev = SCOPED.with(|s| s.borrow_mut().replace(query));
    let _reset = Reset(prev);
    f()
}

/// The callback [`with_local_query`] installed on this thread.
pub fn scoped() -> Option<LocalQuery> {
    SCOPED.with(|s| s.borrow().clone())
}
