//! Python's `datetime.timedelta` ([`PyTimeDelta`], offered as
//! `modules.datetime.timedelta`) and the arithmetic between datetimes, dates
//! and timedeltas ([`arith`], [`neg`]).
//!
//! minijinja cannot overload operators on objects, so templates reach
//! [`arith`] through the functions that [`super::pyops`] rewrites `a - b` into;
//! this module only answers for its own types and returns `None` for anything
//! else, leaving ordinary numbers, strings and lists to minijinja. It knows
//! nothing of template text or of dbt's context.

use super::pytime::{PyDate, PyDateTime};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Utc};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

const MICROS_PER_SECOND: i128 = 1_000_000;
const MICROS_PER_DAY: i128 = 86_400 * MICROS_PER_SECOND;
/// Python's `timedelta.max.days`.
const MAX_DAYS: i128 = 999_999_999;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A `datetime.timedelta`, held as a whole number of microseconds (Python
/// normalizes it to `days`, `seconds`, `microseconds` the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PyTimeDelta {
    pub micros: i128,
}

impl PyTimeDelta {
    /// Fails like Python's `OverflowError` past ±999999999 days.
    pub fn new(micros: i128) -> Result<PyTimeDelta, Error> {
        let days = micros.div_euclid(MICROS_PER_DAY);
        if days.abs() > MAX_DAYS {
            return Err(invalid(format!("days={days}; must have magnitude <= {MAX_DAYS}")));
        }
        Ok(PyTimeDelta { micros })
    }

    /// From a float number of microseconds, rounded half to even as Python does.
    fn from_f64(micros: f64) -> Result<PyTimeDelta, Error> {
        if !micros.is_finite() || micros.abs() > 1e23 {
            return Err(invalid("timedelta value out of range"));
        }
        PyTimeDelta::new(micros.round_ties_even() as i128)
    }

    pub fn days(&self) -> i128 {
        self.micros.div_euclid(MICROS_PER_DAY)
    }

    pub fn seconds(&self) -> i128 {
        self.micros.rem_euclid(MICROS_PER_DAY) / MICROS_PER_SECOND
    }

    pub fn microseconds(&self) -> i128 {
        self.micros.rem_euclid(MICROS_PER_SECOND)
    }

    pub fn value(self) -> Value {
        Value::from_object(self)
    }

    fn chrono(&self) -> Result<TimeDelta, Error> {
        i64::try_from(self.micros).map(TimeDelta::microseconds).map_err(|_| invalid("date value out of range"))
    }
}

/// Python's `str(timedelta)`: `3 days, 0:00:00`, `-1 day, 23:00:00`, `6:00:00.500000`.
impl fmt::Display for PyTimeDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.days();
        if days != 0 {
            write!(f, "{days} day{}, ", if days.abs() == 1 { "" } else { "s" })?;
        }
        let s = self.seconds();
        write!(f, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)?;
        match self.microseconds() {
            0 => Ok(()),
            us => write!(f, ".{us:06}"),
        }
    }
}

impl Object for PyTimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "days" => Value::from(self.days()),
            "seconds" => Value::from(self.seconds()),
            "microseconds" => Value::from(self.microseconds()),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "total_seconds" if args.is_empty() => Ok(Value::from(self.micros as f64 / 1e6)),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    /// A zero timedelta is false, as in Python.
    fn is_true(self: &Arc<Self>) -> bool {
        self.micros != 0
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.micros.cmp(&other.downcast_ref::<Self>()?.micros))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// A number as Python sees it: exact when integral.
enum Num {
    Int(i128),
    Float(f64),
}

fn number(v: &Value) -> Option<Num> {
    if v.is_integer() {
        i128::try_from(v.clone()).ok().map(Num::Int)
    } else if v.is_number() {
        f64::try_from(v.clone()).ok().map(Num::Float)
    } else {
        None
    }
}

/// `modules.datetime.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)`.
#[derive(Debug)]
struct TimeDeltaClass;

const UNITS: [(&str, i128); 7] = [
    ("days", MICROS_PER_DAY),
    ("seconds", MICROS_PER_SECOND),
    ("microseconds", 1),
    ("milliseconds", 1_000),
    ("minutes", 60 * MICROS_PER_SECOND),
    ("hours", 3_600 * MICROS_PER_SECOND),
    ("weeks", 7 * MICROS_PER_DAY),
];

impl Object for TimeDeltaClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (kwargs, positional) = match args.split_last() {
            Some((last, rest)) if last.is_kwargs() => (Kwargs::try_from(last.clone())?, rest),
            _ => (Kwargs::from_iter(std::iter::empty::<(String, Value)>()), args),
        };
        if positional.len() > UNITS.len() {
            return Err(invalid(format!("timedelta takes at most 7 arguments ({} given)", positional.len())));
        }
        let (mut exact, mut float, mut any_float) = (0i128, 0f64, false);
        for (i, (unit, scale)) in UNITS.iter().enumerate() {
            let v = match (positional.get(i).cloned(), kwargs.get::<Option<Value>>(unit)?) {
                (Some(_), Some(_)) => return Err(invalid(format!("timedelta got multiple values for `{unit}`"))),
                (Some(v), None) | (None, Some(v)) => v,
                (None, None) => continue,
            };
            match number(&v) {
                Some(Num::Int(n)) => {
                    exact = n
                        .checked_mul(*scale)
                        .and_then(|n| n.checked_add(exact))
                        .ok_or_else(|| invalid(format!("timedelta argument `{unit}` is out of range")))?
                }
                Some(Num::Float(x)) => {
                    float += x * *scale as f64;
                    any_float = true;
                }
                None => return Err(invalid(format!("unsupported type for timedelta {unit} component: {v}"))),
            }
        }
        kwargs.assert_all_used()?;
        let delta = if any_float { PyTimeDelta::from_f64(exact as f64 + float)? } else { PyTimeDelta::new(exact)? };
        Ok(delta.value())
    }
}

/// The `modules.datetime.timedelta` constructor.
pub fn timedelta_class() -> Value {
    Value::from_object(TimeDeltaClass)
}

/// The binary operators [`arith`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::FloorDiv => "//",
        }
    }
}

/// The operands as this module sees them.
enum Operand {
    DateTime(PyDateTime),
    Date(NaiveDate),
    Delta(PyTimeDelta),
    Other(Value),
}

fn operand(v: &Value) -> Operand {
    if let Some(t) = v.downcast_object_ref::<PyDateTime>() {
        Operand::DateTime(t.clone())
    } else if let Some(d) = v.downcast_object_ref::<PyDate>() {
        Operand::Date(d.0)
    } else if let Some(d) = v.downcast_object_ref::<PyTimeDelta>() {
        Operand::Delta(*d)
    } else {
        Operand::Other(v.clone())
    }
}

/// Python's type name, for the "unsupported operand" error.
fn type_name(v: &Value) -> String {
    match operand(v) {
        Operand::DateTime(_) => "datetime.datetime".into(),
        Operand::Date(_) => "datetime.date".into(),
        Operand::Delta(_) => "datetime.timedelta".into(),
        Operand::Other(v) => v.kind().to_string(),
    }
}

fn shift(t: &PyDateTime, d: PyTimeDelta) -> Result<Value, Error> {
    let naive = t.naive.checked_add_signed(d.chrono()?).ok_or_else(|| invalid("date value out of range"))?;
    Ok(PyDateTime { naive, tz: t.tz, lmt: false }.value())
}

/// `date ± timedelta` counts whole days only (`timedelta.days`), as Python does.
fn shift_date(d: NaiveDate, days: i128) -> Result<Value, Error> {
    let days =
        i64::try_from(days).ok().and_then(TimeDelta::try_days).ok_or_else(|| invalid("date value out of range"))?;
    let out = d.checked_add_signed(days).ok_or_else(|| invalid("date value out of range"))?;
    Ok(Value::from_object(PyDate(out)))
}

/// The instant of a datetime for subtraction: UTC when tz-aware.
fn instant(t: &PyDateTime) -> Result<(NaiveDateTime, bool), Error> {
    match t.tz {
        None => Ok((t.naive, false)),
        Some(_) => t
            .aware()
            .map(|a| (a.with_timezone(&Utc).naive_utc(), true))
            .ok_or_else(|| invalid(format!("`{}` does not exist in its time zone", t.naive))),
    }
}

fn between(a: NaiveDateTime, b: NaiveDateTime) -> Result<Value, Error> {
    let micros = (a - b).num_microseconds().ok_or_else(|| invalid("timedelta value out of range"))?;
    Ok(PyTimeDelta::new(micros as i128)?.value())
}

/// Python's `//`: rounds toward negative infinity.
fn floor_div(a: i128, b: i128) -> Result<i128, Error> {
    if b == 0 {
        return Err(invalid("integer division or modulo by zero"));
    }
    let q = a / b;
    Ok(if a % b != 0 && ((a < 0) != (b < 0)) { q - 1 } else { q })
}

/// `timedelta * n`, `timedelta / n`, `timedelta // n`.
fn delta_by_number(op: Op, d: PyTimeDelta, n: Num) -> Result<Option<Value>, Error> {
    let out = match (op, n) {
        (Op::Mul, Num::Int(k)) => {
            PyTimeDelta::new(d.micros.checked_mul(k).ok_or_else(|| invalid("timedelta value out of range"))?)?
        }
        (Op::Mul, Num::Float(x)) => PyTimeDelta::from_f64(d.micros as f64 * x)?,
        (Op::Div, Num::Int(0)) => return Err(invalid("division by zero")),
        (Op::Div, Num::Float(x)) if x == 0.0 => return Err(invalid("division by zero")),
        (Op::Div, Num::Int(k)) => PyTimeDelta::from_f64(d.micros as f64 / k as f64)?,
        (Op::Div, Num::Float(x)) => PyTimeDelta::from_f64(d.micros as f64 / x)?,
        (Op::FloorDiv, Num::Int(k)) => PyTimeDelta::new(floor_div(d.micros, k)?)?,
        _ => return Ok(None),
    };
    Ok(Some(out.value()))
}

fn unsupported(op: Op, lhs: &Value, rhs: &Value) -> Error {
    invalid(format!("unsupported operand type(s) for {}: '{}' and '{}'", op.symbol(), type_name(lhs), type_name(rhs)))
}

/// `lhs <op> rhs` when either side is a datetime, date or timedelta; `None`
/// when neither is, so the caller keeps minijinja's own meaning.
pub fn arith(op: Op, lhs: &Value, rhs: &Value) -> Result<Option<Value>, Error> {
    use Operand::*;
    let (a, b) = (operand(lhs), operand(rhs));
    let out = match (op, &a, &b) {
        (_, Other(_), Other(_)) => return Ok(None),
        (Op::Add, DateTime(t), Delta(d)) | (Op::Add, Delta(d), DateTime(t)) => shift(t, *d)?,
        (Op::Sub, DateTime(t), Delta(d)) => shift(t, PyTimeDelta::new(-d.micros)?)?,
        (Op::Add, Date(x), Delta(d)) | (Op::Add, Delta(d), Date(x)) => shift_date(*x, d.days())?,
        (Op::Sub, Date(x), Delta(d)) => shift_date(*x, -d.days())?,
        (Op::Sub, DateTime(x), DateTime(y)) => {
            let ((x, x_aware), (y, y_aware)) = (instant(x)?, instant(y)?);
            if x_aware != y_aware {
                return Err(invalid("can't subtract offset-naive and offset-aware datetimes"));
            }
            between(x, y)?
        }
        (Op::Sub, Date(x), Date(y)) => between(x.and_time(chrono::NaiveTime::MIN), y.and_time(chrono::NaiveTime::MIN))?,
        (Op::Add | Op::Sub, Delta(x), Delta(y)) => {
            let micros = if op == Op::Add { x.micros + y.micros } else { x.micros - y.micros };
            PyTimeDelta::new(micros)?.value()
        }
        (Op::Mul | Op::Div | Op::FloorDiv, Delta(d), Other(n)) | (Op::Mul, Other(n), Delta(d)) => match number(n) {
            Some(k) => delta_by_number(op, *d, k)?.ok_or_else(|| unsupported(op, lhs, rhs))?,
            None => return Err(unsupported(op, lhs, rhs)),
        },
        (Op::Div, Delta(x), Delta(y)) => {
            if y.micros == 0 {
                return Err(invalid("division by zero"));
            }
            Value::from(x.micros as f64 / y.micros as f64)
        }
        (Op::FloorDiv, Delta(x), Delta(y)) => Value::from(floor_div(x.micros, y.micros)?),
        _ => return Err(unsupported(op, lhs, rhs)),
    };
    Ok(Some(out))
}

/// `-x` for a timedelta; `None` for anything else.
pub fn neg(v: &Value) -> Result<Option<Value>, Error> {
    match operand(v) {
        Operand::Delta(d) => Ok(Some(PyTimeDelta::new(-d.micros)?.value())),
        Operand::DateTime(_) | Operand::Date(_) => {
            Err(invalid(format!("bad operand type for unary -: '{}'", type_name(v))))
        }
        Operand::Other(_) => Ok(None),
    }
}
