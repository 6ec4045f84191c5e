//! Python source for values: string, number, list and dict literals,
//! `timedelta(...)` and `pendulum.datetime(...)`, written so that the file
//! `runner export airflow` produces reads back the same value in Python and in
//! `runner import cosmos`.
//!
//! Pure formatting: no I/O, no knowledge of DAG keys.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use std::time::Duration;

/// A Python string literal (double quotes; escapes for `\`, `"` and control
/// characters, so any text survives `py_compile` unchanged).
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Line and paragraph separators end a line in some editors; keep them escaped.
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML value as a Python literal. A tagged value (`!x`) has no Python
/// meaning and is returned as an error naming it.
pub(crate) fn value(v: &serde_yaml::Value) -> Result<String, String> {
    use serde_yaml::Value as V;
    Ok(match v {
        V::Null => "None".into(),
        V::Bool(true) => "True".into(),
        V::Bool(false) => "False".into(),
        V::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => float(f),
            _ => return Err(format!("`{n}` is not a number Python reads")),
        },
        V::String(s) => string(s),
        V::Sequence(items) => {
            let parts: Result<Vec<String>, String> = items.iter().map(value).collect();
            format!("[{}]", parts?.join(", "))
        }
        V::Mapping(m) => {
            let mut parts = Vec::new();
            for (k, v) in m {
                parts.push(format!("{}: {}", value(k)?, value(v)?));
            }
            format!("{{{}}}", parts.join(", "))
        }
        V::Tagged(t) => return Err(format!("the tagged value `{}` has no Python equivalent", t.tag)),
    })
}

fn float(f: f64) -> String {
    if f.is_nan() {
        "float(\"nan\")".into()
    } else if f.is_infinite() {
        if f > 0.0 { "float(\"inf\")" } else { "float(\"-inf\")" }.into()
    } else {
        // `{:?}` keeps a `.0` on whole numbers, so Python reads a float back.
        format!("{f:?}")
    }
}

/// `timedelta(...)` in the largest unit that keeps it exact.
pub(crate) fn timedelta(d: Duration) -> String {
    let micros = d.as_micros();
    let units: [(&str, u128); 4] =
        [("days", 86_400_000_000), ("hours", 3_600_000_000), ("minutes", 60_000_000), ("seconds", 1_000_000)];
    for (name, size) in units {
        if micros % size == 0 {
            return format!("timedelta({name}={})", micros / size);
        }
    }
    if micros % 1000 == 0 {
        return format!("timedelta(milliseconds={})", micros / 1000);
    }
    format!("timedelta(microseconds={micros})")
}

/// `pendulum.datetime(...)` in `tz`'s wall-clock time, or in UTC when that
/// local time is ambiguous or skipped (a DST change), so the instant is exact.
pub(crate) fn datetime(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let local = at.with_timezone(&tz);
    let exact = tz.from_local_datetime(&local.naive_local()).single().is_some();
    let (naive, zone) = if exact { (local.naive_local(), tz.name()) } else { (at.naive_utc(), "UTC") };
    let mut parts = vec![naive.year().to_string(), naive.month().to_string(), naive.day().to_string()];
    let (h, m, s) = (naive.hour(), naive.minute(), naive.second());
    if (h, m, s) != (0, 0, 0) {
        parts.extend([h.to_string(), m.to_string(), s.to_string()]);
    }
    format!("pendulum.datetime({}, tz={})", parts.join(", "), string(zone))
}

/// A Python identifier for `dag_id` (which may hold `-` and `.`), for the
/// module-level variable holding the DAG.
pub(crate) fn identifier(dag_id: &str) -> String {
    let mut out: String = dag_id.chars().map(|c| if c.is_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.chars().next().is_none_or(|c| c.is_numeric()) || is_keyword(&out) {
        out.insert_str(0, "dag_");
    }
    out
}

fn is_keyword(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ];
    KEYWORDS.contains(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_python_would_misread() {
        assert_eq!(string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(string("tab\there\u{1}"), r#""tab\there\x01""#);
        assert_eq!(string("café"), "\"café\"");
    }

    #[test]
    fn yaml_values_become_python_literals() {
        let v: serde_yaml::Value =
            serde_yaml::from_str("{a: 1, b: [true, null, 2.5, 3.0], c: {d: x}, 4: -1}").expect("valid test input");
        assert_eq!(
            value(&v).expect("valid test input"),
            r#"{"a": 1, "b": [True, None, 2.5, 3.0], "c": {"d": "x"}, 4: -1}"#
        );
        let t: serde_yaml::Value = serde_yaml::from_str("!env x").expect("valid test input");
        assert!(value(&t).unwrap_err().contains("`!env`"));
    }

    #[test]
    fn durations_use_the_largest_exact_unit() {
        assert_eq!(timedelta(Duration::from_secs(300)), "timedelta(minutes=5)");
        assert_eq!(timedelta(Duration::from_secs(86_400 * 2)), "timedelta(days=2)");
        assert_eq!(timedelta(Duration::from_secs(90)), "timedelta(seconds=90)");
        assert_eq!(timedelta(Duration::from_millis(1500)), "timedelta(milliseconds=1500)");
        assert_eq!(timedelta(Duration::ZERO), "timedelta(days=0)");
    }

    #[test]
    fn datetimes_are_wall_clock_in_the_dag_zone_unless_ambiguous() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("valid test input");
        let midnight =
            paris.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("one local time").with_timezone(&Utc);
        assert_eq!(datetime(midnight, paris), r#"pendulum.datetime(2025, 1, 1, tz="Europe/Paris")"#);
        // 02:30 on 2025-10-26 happens twice in Paris: the instant is written in UTC.
        let twice = Utc.with_ymd_and_hms(2025, 10, 26, 0, 30, 0).single().expect("one UTC time");
        assert_eq!(datetime(twice, paris), r#"pendulum.datetime(2025, 10, 26, 0, 30, 0, tz="UTC")"#);
    }

    #[test]
    fn identifiers_are_valid_python_names() {
        assert_eq!(identifier("my_dag"), "my_dag");
        assert_eq!(identifier("my-dag.v2"), "my_dag_v2");
        assert_eq!(identifier("2025_load"), "dag_2025_load");
        assert_eq!(identifier("class"), "dag_class");
    }
}
