//! Each keyword argument of a cosmos `DbtDag` (or of a `DAG` and its
//! `DbtTaskGroup`) mapped onto runner's DAG keys, with a warning for every
//! one that has no runner equivalent or whose value is only known when the
//! file is imported, and an error (exit 2) for a value runner would refuse:
//! a bad `dag_id`, schedule or time zone.
//!
//! Pure: values in, YAML text and diagnostics out.

use super::import::{kwargs, what, KEPT_PREFIX};
use super::pyeval::{Call, Value};
use crate::diag::Diagnostic;
use chrono::{NaiveDateTime, TimeZone, Timelike};
use serde_yaml::{Mapping, Value as Y};
use std::collections::BTreeMap;
use std::path::Path;

/// Runner's DAG keys in the order they are written.
const ORDER: &[&str] = &[
    "dag_id",
    "description",
    "schedule",
    "timezone",
    "start_date",
    "end_date",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "project_dir",
    "profile",
    "target",
    "select",
    "exclude",
    "test_behavior",
    "vars",
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "params",
    "tags",
    "paused",
    "lock_timeout",
    "lock_policy",
];

/// Keys runner keeps in `# runner:` comments (no Airflow equivalent).
const KEPT: &[&str] = &["lock_timeout", "lock_policy"];

/// Cosmos settings that only say how cosmos runs dbt, which runner does itself.
const HARMLESS: &[&str] = &[
    "project_name",
    "manifest_path",
    "partial_parse",
    "install_dbt_deps",
    "copy_dbt_packages",
    "dbt_executable_path",
    "invocation_mode",
    "load_method",
    "emit_datasets",
    "dbt_deps",
    "enable_mock_profile",
    "install_deps",
    "group_id",
    "dag",
    "execution_mode",
];

pub(crate) struct Dag<'a> {
    shown: &'a Path,
    /// The Python file's folder: a relative `dbt_project_path` is read from there.
    dir: &'a Path,
    keys: BTreeMap<&'static str, Y>,
    start: Option<(NaiveDateTime, Option<String>, usize)>,
    end: Option<(NaiveDateTime, Option<String>, usize)>,
    zone: Option<(String, usize)>,
    warnings: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

impl<'a> Dag<'a> {
    pub fn new(shown: &'a Path, dir: &'a Path) -> Self {
        Dag {
            shown,
            dir,
            keys: BTreeMap::new(),
            start: None,
            end: None,
            zone: None,
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn warn(&mut self, line: usize, msg: String) {
        self.warnings.push(Diagnostic::in_file(self.shown, msg).at(Some(line), None));
    }

    fn warn_hint(&mut self, line: usize, msg: String, hint: &str) {
        self.warnings.push(Diagnostic::in_file(self.shown, msg).at(Some(line), None).hint(hint));
    }

    fn error(&mut self, line: usize, key: &str, msg: String, hint: &str) {
        self.errors.push(Diagnostic::in_file(self.shown, format!("`{key}`: {msg}")).at(Some(line), None).hint(hint));
    }

    fn untranslated(&mut self, line: usize, key: &str, v: &Value) {
        let msg = match v {
            Value::Unknown(why) => format!("`{key}` not translated: {why}"),
            other => format!("`{key}` not translated: {} is not a value runner reads here", what(other)),
        };
        self.warn(line, msg);
    }

    fn set(&mut self, key: &'static str, v: Y) {
        self.keys.insert(key, v);
    }

    /// Reads the DAG's keyword arguments, its task group's, and the `# runner:` comments.
    pub fn read(&mut self, dag: &Call, group: Option<&Call>, kept: &[(usize, String, Y)]) {
        // `DAG("id", …)`: the id is the first positional argument.
        if let (Some(id), None) = (dag.args.first(), dag.kwarg("dag_id")) {
            self.dag_kwarg("dag_id", id, dag.line);
        }
        for (key, v, line) in kwargs(dag) {
            self.dag_kwarg(key, v, line);
        }
        if let Some(g) = group {
            for (key, v, line) in kwargs(g) {
                match key {
                    "default_args" | "project_config" | "profile_config" | "render_config" | "execution_config"
                    | "operator_args" => self.dag_kwarg(key, v, line),
                    k if HARMLESS.contains(&k) => {}
                    k => self.warn(line, format!("`DbtTaskGroup({k}=…)` has no runner equivalent; not translated")),
                }
            }
        }
        for (line, key, value) in kept {
            match KEPT.iter().find(|k| *k == key) {
                Some(k) => self.set(k, value.clone()),
                None => self.warn(*line, format!("`# runner: {key}` is not a key runner keeps in a comment; ignored")),
            }
        }
        if !self.keys.contains_key("dag_id") && self.errors.is_empty() {
            self.errors.push(
                Diagnostic::in_file(self.shown, "no `dag_id`")
                    .at(Some(dag.line), None)
                    .hint("pass `dag_id=\"…\"` to the DAG"),
            );
        }
    }

    fn dag_kwarg(&mut self, key: &str, v: &Value, line: usize) {
        match (key, v) {
            ("dag_id", Value::Str(id)) => match crate::project::ids::check_dag_id(id) {
                Ok(()) => self.set("dag_id", Y::String(id.clone())),
                Err(e) => self.error(line, "dag_id", e, "use letters, digits, `_`, `-` and `.` only, as Airflow does"),
            },
            ("dag_id", other) => {
                let why = what(other);
                self.error(
                    line,
                    "dag_id",
                    format!("{why} is not a DAG id runner can read"),
                    "write the id as a string literal",
                )
            }
            ("description", Value::Str(s)) => self.set("description", Y::String(s.clone())),
            ("description" | "schedule" | "schedule_interval" | "timetable", Value::None) => {}
            ("schedule" | "schedule_interval" | "timetable", v) => self.schedule(key, v, line),
            ("start_date", Value::DateTime(at, zone)) => self.start = Some((*at, zone.clone(), line)),
            ("end_date", Value::DateTime(at, zone)) => self.end = Some((*at, zone.clone(), line)),
            ("end_date", Value::None) => {}
            ("catchup", Value::Bool(b)) => self.set("catchup", Y::Bool(*b)),
            ("is_paused_upon_creation", Value::Bool(b)) => self.set("paused", Y::Bool(*b)),
            ("max_active_runs", Value::Int(n)) => self.set("max_active_runs", (*n).into()),
            ("max_active_tasks" | "concurrency", Value::Int(n)) => self.set("max_active_tasks", (*n).into()),
            ("tags", Value::List(items)) => {
                let tags: Option<Vec<Y>> = items
                    .iter()
                    .map(|t| if let Value::Str(s) = t { Some(Y::String(s.clone())) } else { None })
                    .collect();
                match tags {
                    Some(t) => self.set("tags", Y::Sequence(t)),
                    None => self.untranslated(line, key, v),
                }
            }
            ("params", Value::Dict(pairs)) => {
                let m = self.mapping("params", pairs, line);
                self.set("params", Y::Mapping(m));
            }
            ("default_args", Value::Dict(pairs)) => self.default_args(pairs, line),
            ("project_config", Value::Call(c)) if c.name() == "ProjectConfig" => self.project_config(c),
            ("profile_config", Value::Call(c)) if c.name() == "ProfileConfig" => self.profile_config(c),
            ("render_config", Value::Call(c)) if c.name() == "RenderConfig" => self.render_config(c),
            ("execution_config", Value::Call(c)) if c.name() == "ExecutionConfig" => {
                self.nested(c, &["dbt_project_path"])
            }
            ("operator_args", Value::Dict(pairs)) => self.operator_args(pairs, line),
            ("**", v) => self.warn(
                line,
                format!("`**{}` is unpacked when the file is imported; not translated", what(v).trim_matches('`')),
            ),
            (k, Value::Unknown(_)) if ORDER.contains(&k) || k.ends_with("_config") || k == "default_args" => {
                self.untranslated(line, k, v)
            }
            (
                "start_date"
                | "catchup"
                | "is_paused_upon_creation"
                | "max_active_runs"
                | "max_active_tasks"
                | "tags"
                | "params"
                | "default_args"
                | "project_config"
                | "profile_config"
                | "render_config"
                | "execution_config"
                | "operator_args",
                _,
            ) => self.untranslated(line, key, v),
            (k, _) => self.warn(line, format!("`{k}` has no runner equivalent; not translated")),
        }
    }

    fn schedule(&mut self, key: &str, v: &Value, line: usize) {
        let hint = "use a preset (`@daily`, …), 5 cron fields, or `CronDataIntervalTimetable(cron, timezone=…)`";
        let (cron, zone) = match v {
            Value::Str(s) => (s.clone(), None),
            Value::Call(c) if matches!(c.name(), "CronDataIntervalTimetable" | "CronTriggerTimetable") => {
                if c.name() == "CronTriggerTimetable" {
                    self.warn(line, "`CronTriggerTimetable` translated as runner's cron, whose runs cover the data interval before them (Airflow's `CronDataIntervalTimetable`)".into());
                }
                let cron = match c.args.first().or_else(|| c.kwarg("cron")) {
                    Some(Value::Str(s)) => s.clone(),
                    other => return self.untranslated(line, key, other.unwrap_or(&Value::None)),
                };
                let zone = match c.args.get(1).or_else(|| c.kwarg("timezone")) {
                    Some(Value::Str(z) | Value::Zone(z)) => Some(z.clone()),
                    None => None,
                    Some(other) => return self.untranslated(line, "timezone", other),
                };
                (cron, zone)
            }
            other => return self.untranslated(line, key, other),
        };
        if let Err(e) = crate::project::dag::Schedule::parse(&cron) {
            return self.error(line, "schedule", e, hint);
        }
        if let Some(z) = zone {
            self.zone = Some((z, line));
        }
        self.set("schedule", Y::String(cron));
    }

    fn default_args(&mut self, pairs: &[(Value, Value)], line: usize) {
        for (k, v) in pairs {
            let Value::Str(k) = k else {
                self.warn(line, "a `default_args` key that is not a string; not translated".into());
                continue;
            };
            match (k.as_str(), v) {
                ("retries", Value::Int(n)) => self.set("retries", (*n).into()),
                ("retry_exponential_backoff", Value::Bool(b)) => self.set("retry_exponential_backoff", Y::Bool(*b)),
                // Airflow 3.3 takes a multiplier (0: off); runner doubles, as `True` does.
                ("retry_exponential_backoff", Value::Int(_) | Value::Float(_)) => {
                    let m = match v {
                        Value::Int(i) => *i as f64,
                        Value::Float(f) => *f,
                        _ => 0.0,
                    };
                    if m != 0.0 && m != 2.0 {
                        self.warn(line, format!("`default_args[\"retry_exponential_backoff\"]`: runner doubles the delay; the multiplier {m} is read as 2"));
                    }
                    self.set("retry_exponential_backoff", Y::Bool(m != 0.0));
                }
                ("retry_delay", _) => self.duration("retry_delay", v, line),
                ("max_retry_delay", _) => self.duration("max_retry_delay", v, line),
                ("execution_timeout", _) => self.duration("execution_timeout", v, line),
                ("start_date", Value::DateTime(at, z)) if self.start.is_none() => {
                    self.start = Some((*at, z.clone(), line))
                }
                ("end_date", Value::DateTime(at, z)) if self.end.is_none() => self.end = Some((*at, z.clone(), line)),
                (k @ ("retries" | "retry_exponential_backoff" | "start_date" | "end_date"), v) => {
                    self.untranslated(line, &format!("default_args[\"{k}\"]"), v)
                }
                (k, _) => self.warn(line, format!("`default_args[\"{k}\"]` has no runner equivalent; not translated")),
            }
        }
    }

    fn duration(&mut self, key: &'static str, v: &Value, line: usize) {
        let micros = match v {
            Value::Delta(m) => *m,
            Value::Int(s) => s.saturating_mul(1_000_000),
            Value::None if key == "execution_timeout" => return,
            other => return self.untranslated(line, key, other),
        };
        if micros < 0 {
            return self.warn(line, format!("`{key}` is negative; not translated"));
        }
        self.set(key, Y::String(yaml_duration(micros)));
    }

    fn mapping(&mut self, key: &str, pairs: &[(Value, Value)], line: usize) -> Mapping {
        let mut m = Mapping::new();
        for (k, v) in pairs {
            match (yaml(k), yaml(v)) {
                (Ok(k), Ok(v)) => {
                    m.insert(k, v);
                }
                (Err(why), _) | (_, Err(why)) => self.warn(line, format!("an entry of `{key}` not translated: {why}")),
            }
        }
        m
    }

    /// The YAML text, or the errors; the DAG id comes first.
    pub fn finish(mut self) -> Result<(String, String, Vec<Diagnostic>), Vec<Diagnostic>> {
        let zone = self.zone.clone();
        let tz = match &zone {
            None => chrono_tz::UTC,
            Some((z, line)) => match z.parse::<chrono_tz::Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    self.error(
                        *line,
                        "timezone",
                        format!("unknown timezone `{z}`"),
                        "use an IANA name such as `Europe/Paris`",
                    );
                    chrono_tz::UTC
                }
            },
        };
        if tz != chrono_tz::UTC {
            self.set("timezone", Y::String(tz.name().to_string()));
        }
        for (key, date) in [("start_date", self.start.clone()), ("end_date", self.end.clone())] {
            if let Some((at, zone, line)) = date {
                match date_text(at, zone.as_deref(), tz) {
                    Ok(text) => self.set(if key == "start_date" { "start_date" } else { "end_date" }, Y::String(text)),
                    Err(e) => self.error(line, key, e, "use an IANA name such as `Europe/Paris`"),
                }
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let mut m = Mapping::new();
        for key in ORDER {
            if let Some(v) = self.keys.remove(key) {
                m.insert(Y::String(key.to_string()), v);
            }
        }
        let id = m.get("dag_id").and_then(Y::as_str).unwrap_or_default().to_string();
        let text = serde_yaml::to_string(&m)
            .map_err(|e| vec![Diagnostic::in_file(self.shown, format!("cannot write the DAG: {e}"))])?;
        Ok((id, text, self.warnings))
    }
}

/// A date as runner's DAG file writes it: wall-clock in the DAG's zone, or
/// an RFC 3339 instant when it was given in another zone (naive is UTC, as
/// in Airflow).
fn date_text(at: NaiveDateTime, zone: Option<&str>, tz: chrono_tz::Tz) -> Result<String, String> {
    let zone = zone.unwrap_or("UTC");
    let given: chrono_tz::Tz = zone.parse().map_err(|_| format!("unknown timezone `{zone}`"))?;
    if given == tz {
        let fmt = if at.time() == chrono::NaiveTime::MIN { "%Y-%m-%d" } else { "%Y-%m-%dT%H:%M:%S" };
        return Ok(at.format(fmt).to_string());
    }
    let instant =
        given.from_local_datetime(&at).earliest().ok_or_else(|| format!("`{at}` does not exist in `{zone}`"))?;
    let utc = instant.with_timezone(&chrono::Utc).with_nanosecond(0).unwrap_or(instant.with_timezone(&chrono::Utc));
    Ok(utc.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

/// A duration in runner's notation, in the largest exact unit.
pub(crate) fn yaml_duration(micros: i64) -> String {
    for (unit, size) in
        [("d", 86_400_000_000i64), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1000)]
    {
        if micros % size == 0 {
            return format!("{}{unit}", micros / size);
        }
    }
    format!("{}", micros as f64 / 1e6)
}

fn yaml(v: &Value) -> Result<Y, String> {
    Ok(match v {
        Value::None => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => (*f).into(),
        Value::Str(s) => Y::String(s.clone()),
        Value::Path(p) => Y::String(p.display().to_string()),
        Value::List(items) => Y::Sequence(items.iter().map(yaml).collect::<Result<_, _>>()?),
        Value::Dict(pairs) => {
            let mut m = Mapping::new();
            for (k, v) in pairs {
                m.insert(yaml(k)?, yaml(v)?);
            }
            Y::Mapping(m)
        }
        // Airflow's `Param(default, …)`: its default, as runner's params are plain values.
        Value::Call(c) if c.name() == "Param" => {
            yaml(c.args.first().or_else(|| c.kwarg("default")).unwrap_or(&Value::None))?
        }
        Value::Unknown(why) => return Err(why.clone()),
        other => return Err(format!("{} is not a plain value", what(other))),
    })
}

/// The prefix of a kept key's comment line, for the exporter.
pub(crate) fn kept_comment(key: &str, value: &str) -> String {
    format!("#{KEPT_PREFIX}{key}: {value}")
}

pub(crate) fn is_kept(key: &str) -> bool {
    KEPT.contains(&key)
}

mod cosmos;
