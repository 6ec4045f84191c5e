//! Python-like `datetime` / `date` values and dbt's `modules.datetime` and
//! `modules.pytz`.
//!
//! `run_started_at` is one of these (UTC, tz-aware, as in dbt), so
//! `run_started_at.strftime('%Y%m%d')`, `.isoformat()` and
//! `.astimezone(modules.pytz.timezone('Europe/Berlin'))` work. Values render
//! as Python's `str()` does, and compare (`<`, `==`) like Python's: two
//! tz-aware datetimes by their instant. `modules.datetime.timedelta` and the
//! `+`/`-` between these values live in [`super::pydelta`]; minijinja objects
//! cannot overload operators, so [`super::pyops`] rewrites such expressions
//! into calls before templates compile.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use minijinja::value::{from_args, DynObject, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::cmp::Ordering;
use std::fmt::{self, Write};
use std::sync::Arc;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python's `%f` is microseconds; chrono's is nanoseconds.
fn py_format(fmt: &str) -> String {
    fmt.replace("%f", "%6f")
}

fn strftime(write: impl Fn(&mut String, StrftimeItems<'_>) -> fmt::Result, fmt: &str) -> Result<Value, Error> {
    let f = py_format(fmt);
    if StrftimeItems::new(&f).any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!("invalid strftime format `{fmt}`")));
    }
    let mut out = String::new();
    write(&mut out, StrftimeItems::new(&f)).map_err(|_| invalid(format!("cannot format with `{fmt}`")))?;
    Ok(Value::from(out))
}

/// A `datetime.datetime`: wall-clock time, with a zone when tz-aware.
#[derive(Debug, Clone, PartialEq)]
pub struct PyDateTime {
    pub naive: NaiveDateTime,
    pub tz: Option<Tz>,
    /// A pytz zone handed to the constructor or `replace(tzinfo=…)` (not
    /// `localize`d): pytz then applies the zone's first offset, its local
    /// mean time rounded to the minute (`-07:53` for Los Angeles), which is
    /// what dbt renders.
    pub lmt: bool,
}

impl PyDateTime {
    pub fn utc(t: DateTime<Utc>) -> PyDateTime {
        PyDateTime { naive: t.naive_utc(), tz: Some(Tz::UTC), lmt: false }
    }

    pub fn value(self) -> Value {
        Value::from_object(self)
    }

    pub fn aware(&self) -> Option<DateTime<Tz>> {
        self.tz.and_then(|tz| tz.from_local_datetime(&self.naive).earliest())
    }

    /// The time with the offset Python gives it: the zone's at that time,
    /// or its local mean time for a [`PyDateTime::lmt`] one.
    fn fixed(&self) -> Option<DateTime<FixedOffset>> {
        match (self.tz, self.lmt) {
            (Some(tz), true) => lmt_offset(tz).from_local_datetime(&self.naive).single(),
            _ => self.aware().map(|t| t.fixed_offset()),
        }
    }

    fn offset(&self) -> String {
        match self.fixed() {
            Some(t) => t.format("%:z").to_string(),
            None => String::new(),
        }
    }

    fn iso(&self, sep: char) -> String {
        let micros = self.naive.nanosecond() / 1000 % 1_000_000;
        let frac = if micros == 0 { String::new() } else { format!(".{micros:06}") };
        format!("{}{sep}{}{frac}{}", self.naive.format("%Y-%m-%d"), self.naive.format("%H:%M:%S"), self.offset())
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let n = &self.naive;
        Some(match key.as_str()? {
            "year" => Value::from(n.year()),
            "month" => Value::from(n.month()),
            "day" => Value::from(n.day()),
            "hour" => Value::from(n.hour()),
            "minute" => Value::from(n.minute()),
            "second" => Value::from(n.second()),
            "microsecond" => Value::from(n.nanosecond() / 1000 % 1_000_000),
            "tzinfo" => match self.tz {
                Some(tz) => Value::from_object(PyTz(tz)),
                None => Value::from(()),
            },
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (fmt,): (&str,) = from_args(args)?;
                if let (true, Some(t)) = (self.lmt, self.fixed()) {
                    let fmt = fmt.replace("%Z", "LMT");
                    return strftime(|s, items| write!(s, "{}", t.format_with_items(items)), &fmt);
                }
                match self.aware() {
                    Some(t) => strftime(|s, items| write!(s, "{}", t.format_with_items(items)), fmt),
                    None => strftime(|s, items| write!(s, "{}", self.naive.format_with_items(items)), fmt),
                }
            }
            "isoformat" => {
                let (sep,): (Option<&str>,) = from_args(args)?;
                Ok(Value::from(self.iso(sep.and_then(|s| s.chars().next()).unwrap_or('T'))))
            }
            "date" => Ok(Value::from_object(PyDate(self.naive.date()))),
            "timestamp" => {
                let t = self.fixed().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| self.naive.and_utc());
                Ok(Value::from(t.timestamp_micros() as f64 / 1e6))
            }
            "astimezone" => {
                let (tz,): (Value,) = from_args(args)?;
                let tz = tz.downcast_object_ref::<PyTz>().ok_or_else(|| invalid("astimezone needs a timezone"))?.0;
                let t = self.fixed().ok_or_else(|| invalid("astimezone needs a tz-aware datetime"))?;
                Ok(PyDateTime { naive: t.with_timezone(&tz).naive_local(), tz: Some(tz), lmt: false }.value())
            }
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut out = (**self).clone();
                let n = &self.naive;
                let date = replace_date(n.date(), &kwargs)?;
                let time =
                    |key: &str, old: u32| -> Result<u32, Error> { Ok(kwargs.get::<Option<u32>>(key)?.unwrap_or(old)) };
                let micro = time("microsecond", n.nanosecond() / 1000 % 1_000_000)?;
                out.naive = date
                    .and_hms_micro_opt(
                        time("hour", n.hour())?,
                        time("minute", n.minute())?,
                        time("second", n.second())?,
                        micro,
                    )
                    .ok_or_else(|| invalid("invalid time"))?;
                if kwargs.has("tzinfo") {
                    let tz: Value = kwargs.get("tzinfo")?;
                    out.tz = tz.downcast_object_ref::<PyTz>().map(|t| t.0);
                    out.lmt = out.tz.is_some();
                }
                kwargs.assert_all_used()?;
                Ok(out.value())
            }
            "weekday" => Ok(Value::from(self.naive.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.naive.weekday().number_from_monday())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    /// Tz-aware datetimes compare by instant, naive ones by wall clock.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let key = |t: &PyDateTime| match t.aware() {
            Some(a) => (true, a.naive_utc()),
            None => (false, t.naive),
        };
        let (a, b) = (key(self), key(other.downcast_ref::<Self>()?));
        Some(a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso(' '))
    }
}

/// A `datetime.date`.
#[derive(Debug, Clone, PartialEq)]
pub struct PyDate(pub NaiveDate);

impl Object for PyDate {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "year" => Value::from(self.0.year()),
            "month" => Value::from(self.0.month()),
            "day" => Value::from(self.0.day()),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (fmt,): (&str,) = from_args(args)?;
                strftime(|s, items| write!(s, "{}", self.0.format_with_items(items)), fmt)
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%d").to_string())),
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let date = replace_date(self.0, &kwargs)?;
                kwargs.assert_all_used()?;
                Ok(Value::from_object(PyDate(date)))
            }
            "toordinal" => Ok(Value::from(self.0.num_days_from_ce())),
            "weekday" => Ok(Value::from(self.0.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.0.weekday().number_from_monday())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// `replace(year=, month=, day=)` on a date part.
fn replace_date(d: NaiveDate, kwargs: &Kwargs) -> Result<NaiveDate, Error> {
    let year = kwargs.get::<Option<i32>>("year")?.unwrap_or(d.year());
    let month = kwargs.get::<Option<u32>>("month")?.unwrap_or(d.month());
    let day = kwargs.get::<Option<u32>>("day")?.unwrap_or(d.day());
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| invalid("day is out of range for month"))
}

/// A pytz time zone.
#[derive(Debug, Clone, Copy)]
pub struct PyTz(pub Tz);

impl Object for PyTz {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "zone").then(|| Value::from(self.0.name()))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }

    /// pytz's `localize(naive)` (the zone's offset at that time) and
    /// `normalize(aware)` (the same instant in this zone).
    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let a = bind(method, args, &["dt", "is_dst"], 1)?;
        let dt = a[0]
            .as_ref()
            .and_then(|v| v.downcast_object_ref::<PyDateTime>())
            .ok_or_else(|| invalid(format!("`{method}` needs a datetime")))?;
        match method {
            "localize" if dt.tz.is_some() => Err(invalid("Not naive datetime (tzinfo is already set)")),
            "localize" => Ok(PyDateTime { naive: dt.naive, tz: Some(self.0), lmt: false }.value()),
            "normalize" => {
                let t = dt.fixed().ok_or_else(|| invalid("Naive time - no tzinfo set"))?;
                Ok(PyDateTime { naive: t.with_timezone(&self.0).naive_local(), tz: Some(self.0), lmt: false }.value())
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `modules.datetime.datetime`, `modules.datetime.date`, `modules.pytz`.
#[derive(Debug)]
enum Module {
    DateTimeClass,
    DateClass,
    Pytz,
}

/// Python's binding of a call's arguments to `names`, by position then by
/// keyword; the first `required` must be given.
fn bind(what: &str, args: &[Value], names: &[&str], required: usize) -> Result<Vec<Option<Value>>, Error> {
    let (positional, kwargs) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (rest, Some(Kwargs::try_from(last.clone())?)),
        _ => (args, None),
    };
    if positional.len() > names.len() {
        return Err(invalid(format!("{what}() takes at most {} arguments ({} given)", names.len(), positional.len())));
    }
    let mut out: Vec<Option<Value>> = names.iter().map(|_| None).collect();
    for (slot, v) in out.iter_mut().zip(positional) {
        *slot = Some(v.clone());
    }
    if let Some(kwargs) = kwargs {
        for (i, name) in names.iter().enumerate() {
            if let Some(v) = kwargs.get::<Option<Value>>(name)? {
                if out[i].is_some() {
                    return Err(invalid(format!("{what}() got multiple values for argument `{name}`")));
                }
                out[i] = Some(v);
            }
        }
        kwargs.assert_all_used()?;
    }
    if let Some(missing) = names.iter().zip(&out).take(required).find(|(_, v)| v.is_none()) {
        return Err(invalid(format!("{what}() is missing its `{}` argument", missing.0)));
    }
    Ok(out)
}

fn year(v: &Option<Value>) -> Result<i32, Error> {
    v.as_ref().map_or(Ok(0), |v| i32::try_from(v.clone()))
}

/// A zone's local mean time as pytz keeps it: the zone's first offset,
/// rounded to the minute as pytz rounds it.
fn lmt_offset(tz: Tz) -> FixedOffset {
    let early = NaiveDate::from_ymd_opt(1800, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
    let secs = tz.offset_from_utc_datetime(&early).fix().local_minus_utc();
    FixedOffset::east_opt((secs + 30).div_euclid(60) * 60).unwrap_or(Utc.fix())
}

impl Object for Module {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (self.as_ref(), key.as_str()?) {
            (Module::Pytz, "utc" | "UTC") => Some(Value::from_object(PyTz(Tz::UTC))),
            _ => None,
        }
    }

    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match self.as_ref() {
            Module::DateTimeClass => {
                const NAMES: [&str; 8] = ["year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo"];
                let a = bind("datetime", args, &NAMES, 3)?;
                let n = |i: usize| -> Result<u32, Error> { a[i].as_ref().map_or(Ok(0), |v| u32::try_from(v.clone())) };
                let date =
                    NaiveDate::from_ymd_opt(year(&a[0])?, n(1)?, n(2)?).ok_or_else(|| invalid("invalid date"))?;
                let naive =
                    date.and_hms_micro_opt(n(3)?, n(4)?, n(5)?, n(6)?).ok_or_else(|| invalid("invalid time"))?;
                let tz = a[7].as_ref().and_then(|t| t.downcast_object_ref::<PyTz>().map(|t| t.0));
                Ok(PyDateTime { naive, tz, lmt: tz.is_some() }.value())
            }
            Module::DateClass => {
                let a = bind("date", args, &["year", "month", "day"], 3)?;
                let n = |i: usize| -> Result<u32, Error> { a[i].as_ref().map_or(Ok(0), |v| u32::try_from(v.clone())) };
                let date =
                    NaiveDate::from_ymd_opt(year(&a[0])?, n(1)?, n(2)?).ok_or_else(|| invalid("invalid date"))?;
                Ok(Value::from_object(PyDate(date)))
            }
            Module::Pytz => Err(invalid("`modules.pytz` is not callable")),
        }
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match (self.as_ref(), method) {
            (Module::DateTimeClass, "now") => {
                let (tz,): (Option<Value>,) = from_args(args)?;
                let now = Utc::now();
                Ok(match tz.as_ref().and_then(|t| t.downcast_object_ref::<PyTz>()) {
                    Some(tz) => {
                        PyDateTime { naive: now.with_timezone(&tz.0).naive_local(), tz: Some(tz.0), lmt: false }.value()
                    }
                    None => PyDateTime { naive: chrono::Local::now().naive_local(), tz: None, lmt: false }.value(),
                })
            }
            (Module::DateTimeClass, "today") => {
                Ok(PyDateTime { naive: chrono::Local::now().naive_local(), tz: None, lmt: false }.value())
            }
            (Module::DateTimeClass, "utcnow") => {
                Ok(PyDateTime { naive: Utc::now().naive_utc(), tz: None, lmt: false }.value())
            }
            (Module::DateTimeClass, "strptime") => {
                let (s, fmt): (&str, &str) = from_args(args)?;
                let f = fmt.replace("%f", "%.f").replace("%S.%.f", "%S%.f");
                let naive = NaiveDateTime::parse_from_str(s, &f)
                    .or_else(|_| NaiveDate::parse_from_str(s, &f).map(|d| d.and_time(chrono::NaiveTime::MIN)))
                    .map_err(|e| invalid(format!("cannot parse `{s}` with `{fmt}`: {e}")))?;
                Ok(PyDateTime { naive, tz: None, lmt: false }.value())
            }
            (Module::DateTimeClass, "fromisoformat") => {
                let (s,): (&str,) = from_args(args)?;
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    return Ok(PyDateTime::utc(t.with_timezone(&Utc)).value());
                }
                let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                    .or_else(|| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN))
                    })
                    .ok_or_else(|| invalid(format!("invalid isoformat string `{s}`")))?;
                Ok(PyDateTime { naive, tz: None, lmt: false }.value())
            }
            (Module::DateClass, "today") => Ok(Value::from_object(PyDate(chrono::Local::now().date_naive()))),
            (Module::DateClass, "fromisoformat") => {
                let (s,): (&str,) = from_args(args)?;
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| invalid(format!("`{s}`: {e}")))?;
                Ok(Value::from_object(PyDate(d)))
            }
            (Module::Pytz, "timezone") => {
                let (name,): (&str,) = from_args(args)?;
                let tz: Tz = name.parse().map_err(|_| invalid(format!("unknown time zone `{name}`")))?;
                Ok(Value::from_object(PyTz(tz)))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `modules.datetime` (with `datetime`, `date` and `timedelta`) and `modules.pytz`.
pub fn datetime_module() -> Value {
    Value::from_pairs([
        ("datetime", Value::from_object(Module::DateTimeClass)),
        ("date", Value::from_object(Module::DateClass)),
        ("timedelta", super::pydelta::timedelta_class()),
    ])
}

pub fn pytz_module() -> Value {
    Value::from_object(Module::Pytz)
}
