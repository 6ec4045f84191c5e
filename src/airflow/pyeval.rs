//! Static evaluation of a parsed DAG file: the values of module-level names
//! and of the calls that build the DAG, computed without running Python.
//!
//! Literals, `datetime(...)`, `pendulum.datetime(...)`, `timedelta(...)`,
//! `Path(...)` (with `/`, `.parent`, `__file__`), `os.getenv(...)` and
//! `os.environ.get(...)` (their defaults: the file is read, not run, so the
//! environment of whoever imports it is unknown) and string `+` are computed;
//! other calls stay as [`Value::Call`] for the translator to read; anything
//! decided at import time becomes [`Value::Unknown`] with the reason.

use super::pyparse::{Expr, Kwarg, Statement, Stmt};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A wall-clock time and its zone (`None`: naive, which Airflow reads as UTC).
    DateTime(chrono::NaiveDateTime, Option<String>),
    /// A `timedelta`, in microseconds.
    Delta(i64),
    Path(PathBuf),
    /// A time zone by name.
    Zone(String),
    /// A dotted name that is not a value of the file: `TestBehavior.AFTER_ALL`.
    Ref(String),
    Call(Box<Call>),
    /// Not known without running the file, and why.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    /// The dotted name called: `DbtDag`, `cosmos.RenderConfig`.
    pub callee: String,
    pub args: Vec<Value>,
    /// Keyword arguments with their lines; `**x` is named `**`.
    pub kwargs: Vec<(String, Value, usize)>,
    pub line: usize,
}

impl Call {
    /// The callee without its module: `RenderConfig` for `cosmos.RenderConfig`.
    pub fn name(&self) -> &str {
        self.callee.rsplit('.').next().unwrap_or(&self.callee)
    }

    pub fn kwarg(&self, key: &str) -> Option<&Value> {
        self.kwargs.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v)
    }
}

/// A statement that built a value at module level (or in a `with` block),
/// with the `with` contexts around it.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub value: Value,
    pub contexts: Vec<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct Module {
    pub names: BTreeMap<String, Value>,
    /// Every top-level value, in file order: expression statements and assigned values.
    pub built: Vec<Built>,
}

pub(crate) fn evaluate(file: &Path, stmts: &[Statement]) -> Module {
    let mut m = Module::default();
    m.names.insert("__file__".into(), Value::Str(file.display().to_string()));
    // Open blocks: indent, and the `with` context or why the body may not run.
    let mut stack: Vec<(usize, Result<Value, String>)> = Vec::new();
    for s in stmts {
        while stack.last().is_some_and(|(indent, _)| *indent >= s.indent) {
            stack.pop();
        }
        let skipped = stack.iter().find_map(|(_, b)| b.as_ref().err().cloned());
        let contexts: Vec<Value> = stack.iter().filter_map(|(_, b)| b.as_ref().ok().cloned()).collect();
        // Names assigned in a function or class body are its own, not the module's.
        let local =
            skipped.as_deref().is_some_and(|why| why.starts_with("inside `def`") || why.starts_with("inside `class`"));
        match (&s.stmt, skipped) {
            (Stmt::Assign { .. }, Some(_)) if local => {}
            (Stmt::Assign { targets, .. }, Some(why)) => {
                for t in targets {
                    m.names.insert(t.clone(), Value::Unknown(format!("`{t}` is assigned {why}")));
                }
            }
            (Stmt::Block { keyword, names }, skipped) => {
                let why = skipped.unwrap_or_else(|| format!("inside `{keyword}` (line {})", s.line));
                for n in names {
                    m.names.insert(n.clone(), Value::Unknown(format!("`{n}` is defined {why}")));
                }
                stack.push((s.indent, Err(why)));
            }
            (Stmt::With(items), None) => {
                let mut ctx = Value::None;
                for (e, name) in items {
                    let v = m.eval(e);
                    if let Some(n) = name {
                        m.names.insert(n.clone(), v.clone());
                    }
                    m.built.push(Built { value: v.clone(), contexts: contexts.clone() });
                    ctx = v;
                }
                stack.push((s.indent, Ok(ctx)));
            }
            (Stmt::With(_), Some(why)) => stack.push((s.indent, Err(why))),
            (Stmt::Assign { targets, value }, None) => {
                let v = m.eval(value);
                for t in targets {
                    m.names.insert(t.clone(), v.clone());
                }
                m.built.push(Built { value: v, contexts });
            }
            (Stmt::Expr(e), None) => {
                let v = m.eval(e);
                m.built.push(Built { value: v, contexts });
            }
            (Stmt::Expr(_) | Stmt::Other, _) => {}
        }
    }
    m
}

fn unknown(why: impl Into<String>) -> Value {
    Value::Unknown(why.into())
}

impl Module {
    pub(crate) fn eval(&self, e: &Expr) -> Value {
        match e {
            Expr::None => Value::None,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::FStr(s) => unknown(format!("`{s}` is an f-string, formatted when the file is imported")),
            Expr::Opaque(s) => unknown(format!("`{s}` is computed when the file is imported")),
            Expr::Name(n) => self.names.get(n).cloned().unwrap_or_else(|| Value::Ref(n.clone())),
            Expr::List(items) => Value::List(items.iter().map(|i| self.eval(i)).collect()),
            Expr::Dict(pairs) => Value::Dict(pairs.iter().map(|(k, v)| (self.eval(k), self.eval(v))).collect()),
            Expr::Neg(inner) => match self.eval(inner) {
                Value::Int(i) => i.checked_neg().map_or_else(|| unknown("a number out of range"), Value::Int),
                Value::Float(f) => Value::Float(-f),
                Value::Delta(d) => Value::Delta(-d),
                Value::Unknown(w) => Value::Unknown(w),
                _ => unknown("a negated value that is not a number"),
            },
            Expr::Attr(base, name) => self.attr(self.eval(base), name),
            Expr::Subscript(base, index) => match (self.eval(base), self.eval(index)) {
                (Value::Ref(r), Value::Str(k)) if r == "os.environ" => {
                    unknown(format!("`os.environ[\"{k}\"]` reads the environment of the machine that imports the file"))
                }
                (Value::Dict(pairs), key) => {
                    pairs.into_iter().find(|(k, _)| *k == key).map_or_else(|| unknown("a missing dict key"), |(_, v)| v)
                }
                (Value::List(items), Value::Int(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i).cloned())
                    .unwrap_or_else(|| unknown("an index out of range")),
                (Value::Unknown(w), _) | (_, Value::Unknown(w)) => Value::Unknown(w),
                _ => unknown("a subscript of a value known only when the file is imported"),
            },
            Expr::Binary(op, l, r) => self.binary(op, self.eval(l), r),
            Expr::Call { func, args, kwargs, line } => self.call(func, args, kwargs, *line),
        }
    }

    fn attr(&self, base: Value, name: &str) -> Value {
        match base {
            Value::Ref(r) => match format!("{r}.{name}").as_str() {
                "timezone.utc" | "datetime.timezone.utc" | "pendulum.UTC" | "pendulum.timezone.utc" => {
                    Value::Zone("UTC".into())
                }
                dotted => Value::Ref(dotted.to_string()),
            },
            Value::Path(p) => match name {
                "parent" => Value::Path(p.parent().map(Path::to_path_buf).unwrap_or(p)),
                "name" => Value::Str(p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
                // Methods, resolved by the call that follows.
                _ => Value::Ref(format!("<path>.{name}\u{0}{}", p.display())),
            },
            Value::Unknown(w) => Value::Unknown(w),
            _ => unknown(format!("`.{name}` of a value known only when the file is imported")),
        }
    }

    fn binary(&self, op: &str, left: Value, right: &Expr) -> Value {
        if op == "or" {
            // `os.getenv("X") or "default"`: the default, as with getenv's second argument.
            return match left {
                Value::None | Value::Unknown(_) => self.eval(right),
                Value::Str(s) if s.is_empty() => self.eval(right),
                other => other,
            };
        }
        match (op, left, self.eval(right)) {
            (_, Value::Unknown(w), _) | (_, _, Value::Unknown(w)) => Value::Unknown(w),
            ("+", Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            ("+", Value::Int(a), Value::Int(b)) => {
                a.checked_add(b).map_or_else(|| unknown("a number out of range"), Value::Int)
            }
            ("-", Value::Int(a), Value::Int(b)) => {
                a.checked_sub(b).map_or_else(|| unknown("a number out of range"), Value::Int)
            }
            ("*", Value::Int(a), Value::Int(b)) => {
                a.checked_mul(b).map_or_else(|| unknown("a number out of range"), Value::Int)
            }
            ("+", Value::Delta(a), Value::Delta(b)) => Value::Delta(a.saturating_add(b)),
            ("*", Value::Delta(a), Value::Int(b)) | ("*", Value::Int(b), Value::Delta(a)) => {
                Value::Delta(a.saturating_mul(b))
            }
            ("/", Value::Path(p), Value::Str(s)) => Value::Path(p.join(s)),
            ("/", Value::Path(p), Value::Path(q)) => Value::Path(p.join(q)),
            ("/", Value::Str(s), Value::Path(q)) => Value::Path(Path::new(&s).join(q)),
            (op, _, _) => unknown(format!("a `{op}` computed when the file is imported")),
        }
    }

    fn call(&self, func: &Expr, args: &[Expr], kwargs: &[Kwarg], line: usize) -> Value {
        let callee = match self.eval(func) {
            Value::Ref(r) => r,
            Value::Unknown(w) => return Value::Unknown(w),
            _ => return unknown("a call of a value known only when the file is imported"),
        };
        let args: Vec<Value> = args.iter().map(|a| self.eval(a)).collect();
        let kwargs: Vec<(String, Value, usize)> = kwargs
            .iter()
            .map(|k| (k.name.clone().unwrap_or_else(|| "**".into()), self.eval(&k.value), k.line))
            .collect();
        let call = Call { callee, args, kwargs, line };
        if let Some((method, path)) = call.callee.strip_prefix("<path>.").and_then(|r| r.split_once('\u{0}')) {
            return path_method(method, Path::new(path), &call);
        }
        builtin(&call).unwrap_or_else(|| Value::Call(Box::new(call)))
    }
}

fn path_method(method: &str, path: &Path, call: &Call) -> Value {
    match method {
        "resolve" | "absolute" | "expanduser" => Value::Path(path.to_path_buf()),
        "joinpath" => {
            let mut p = path.to_path_buf();
            for a in &call.args {
                match a {
                    Value::Str(s) => p.push(s),
                    Value::Path(q) => p.push(q),
                    _ => return unknown("`joinpath` of a value known only when the file is imported"),
                }
            }
            Value::Path(p)
        }
        "as_posix" | "__str__" => Value::Str(path.display().to_string()),
        other => unknown(format!("`Path.{other}()` is computed when the file is imported")),
    }
}

/// The value of a call the subset knows, or `None` to keep it as a call.
fn builtin(c: &Call) -> Option<Value> {
    let arg = |i: usize, key: &str| c.args.get(i).or_else(|| c.kwarg(key));
    Some(match c.callee.as_str() {
        "os.getenv" | "os.environ.get" | "getenv" => {
            let name = match arg(0, "key") {
                Some(Value::Str(s)) => s.clone(),
                _ => return Some(unknown("an environment variable named at import time")),
            };
            match arg(1, "default") {
                Some(v) if !matches!(v, Value::None) => v.clone(),
                _ => unknown(format!("`{name}` is read from the environment and has no default")),
            }
        }
        "Path" | "pathlib.Path" | "PosixPath" | "pathlib.PosixPath" | "os.path.join" => {
            let mut p = PathBuf::new();
            for a in &c.args {
                match a {
                    Value::Str(s) => p.push(s),
                    Value::Path(q) => p.push(q),
                    Value::Unknown(w) => return Some(Value::Unknown(w.clone())),
                    _ => return Some(unknown("a path built from a value known only when the file is imported")),
                }
            }
            if c.callee == "os.path.join" {
                Value::Str(p.display().to_string())
            } else {
                Value::Path(p)
            }
        }
        "os.path.dirname" | "os.path.abspath" | "os.path.realpath" | "str" => match (c.callee.as_str(), c.args.first())
        {
            ("os.path.dirname", Some(Value::Str(s))) => {
                Value::Str(Path::new(s).parent().map(|p| p.display().to_string()).unwrap_or_default())
            }
            (_, Some(Value::Str(s))) => Value::Str(s.clone()),
            (_, Some(Value::Path(p))) => Value::Str(p.display().to_string()),
            (_, Some(Value::Unknown(w))) => Value::Unknown(w.clone()),
            _ => unknown(format!("`{}(…)` of a value known only when the file is imported", c.callee)),
        },
        "datetime" | "datetime.datetime" | "pendulum.datetime" => datetime(c),
        "timedelta" | "datetime.timedelta" | "pendulum.duration" | "duration" => delta(c),
        "pendulum.timezone" | "pendulum.tz.timezone" | "ZoneInfo" | "zoneinfo.ZoneInfo" | "timezone" => {
            match c.args.first() {
                Some(Value::Str(s)) => Value::Zone(s.clone()),
                _ => unknown("a time zone named at import time"),
            }
        }
        "datetime.now"
        | "datetime.utcnow"
        | "datetime.today"
        | "datetime.datetime.now"
        | "pendulum.now"
        | "pendulum.today"
        | "pendulum.yesterday"
        | "days_ago"
        | "airflow.utils.dates.days_ago"
        | "date.today" => unknown(format!("`{}()` is the time when the file is imported", c.callee)),
        _ => return None,
    })
}

fn int_arg(c: &Call, i: usize, key: &str) -> Result<Option<i64>, String> {
    match c.args.get(i).or_else(|| c.kwarg(key)) {
        None => Ok(None),
        Some(Value::Int(n)) => Ok(Some(*n)),
        Some(Value::Unknown(w)) => Err(w.clone()),
        Some(other) => Err(format!("`{key}` is {other:?}, not a whole number")),
    }
}

fn datetime(c: &Call) -> Value {
    let fields: Result<Vec<Option<i64>>, String> = ["year", "month", "day", "hour", "minute", "second"]
        .iter()
        .enumerate()
        .map(|(i, k)| int_arg(c, i, k))
        .collect();
    let f = match fields {
        Ok(f) => f,
        Err(w) => return Value::Unknown(w),
    };
    let get = |i: usize| f[i].unwrap_or(0);
    let part = |i: usize| u32::try_from(get(i)).ok();
    let date =
        i32::try_from(get(0)).ok().zip(part(1)).zip(part(2)).and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d));
    let Some(naive) = date.and_then(|d| d.and_hms_opt(part(3)?, part(4)?, part(5)?)) else {
        return unknown(format!("`{}(…)` is not a valid date", c.callee));
    };
    let zone = match c.kwarg("tz").or_else(|| c.kwarg("tzinfo")).or_else(|| c.args.get(7)) {
        None if c.callee == "pendulum.datetime" => Some("UTC".to_string()),
        None | Some(Value::None) => None,
        Some(Value::Zone(z) | Value::Str(z)) => Some(z.clone()),
        Some(Value::Unknown(w)) => return Value::Unknown(w.clone()),
        Some(_) => return unknown("a time zone given as a value runner does not read"),
    };
    Value::DateTime(naive, zone)
}

fn delta(c: &Call) -> Value {
    // timedelta's positional order: days, seconds, microseconds, milliseconds, minutes, hours, weeks.
    const UNITS: [(&str, f64); 7] = [
        ("days", 86_400e6),
        ("seconds", 1e6),
        ("microseconds", 1.0),
        ("milliseconds", 1e3),
        ("minutes", 60e6),
        ("hours", 3_600e6),
        ("weeks", 604_800e6),
    ];
    let mut micros = 0f64;
    for (i, (name, size)) in UNITS.iter().enumerate() {
        let positional = if c.callee == "pendulum.duration" || c.callee == "duration" { None } else { c.args.get(i) };
        match positional.or_else(|| c.kwarg(name)) {
            None => {}
            Some(Value::Int(n)) => micros += *n as f64 * size,
            Some(Value::Float(f)) => micros += f * size,
            Some(Value::Unknown(w)) => return Value::Unknown(w.clone()),
            Some(_) => return unknown(format!("`{name}` of `{}` is not a number", c.callee)),
        }
    }
    Value::Delta(micros.round() as i64)
}
