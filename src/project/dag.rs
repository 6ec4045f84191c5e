//! Validated DAG definitions, built from `config::dag::RawDag`.
//!
//! Owns the defaults and the checks of every DAG key (schedule syntax, dates,
//! caps, `test_behavior`). It reads DAG files but never the dbt project, and
//! computes no schedule times (that is `timetable`'s job).

use crate::config::{dag::RawDag, key_line};
use crate::diag::Diagnostic;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// cosmos' `test_behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBehavior {
    None,
    AfterEach,
    AfterAll,
    Build,
}

impl FromStr for TestBehavior {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "none" => TestBehavior::None,
            "after_each" => TestBehavior::AfterEach,
            "after_all" => TestBehavior::AfterAll,
            "build" => TestBehavior::Build,
            _ => return Err(()),
        })
    }
}

/// What a run does when another process holds the database lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockPolicy {
    /// Wait up to `lock_timeout` (forever if unset), then fail.
    Wait,
    /// Wait up to `lock_timeout` (default: not at all), then skip the run.
    Skip,
    /// Wait up to `lock_timeout` (default: not at all), then fail.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// No schedule: manual runs only.
    Manual,
    Once,
    /// A 5-field cron expression (presets are expanded to one), parsed once here.
    Cron(Box<crate::cron::Cron>),
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        // Airflow's presets, and croniter's own aliases (any letter case).
        let expr = match text.trim().to_ascii_lowercase().as_str() {
            "@once" => return Ok(Schedule::Once),
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@quarterly" => "0 0 1 */3 *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@continuous" => {
                return Err("`@continuous` (a new run as soon as the last ends) is not supported".into());
            }
            other if other.starts_with('@') => {
                return Err(format!("unknown schedule preset `{}`", text.trim()));
            }
            _ => text.trim(),
        };
        // Parsed by the evaluator, once: a schedule that loads is one the
        // scheduler can evaluate, and nothing parses it again.
        Ok(Schedule::Cron(Box::new(crate::cron::Cron::parse(expr)?)))
    }
}

#[derive(Debug, Clone)]
pub struct Dag {
    pub id: String,
    /// The DAG file, relative to the directory `runner` was pointed at.
    pub file: PathBuf,
    pub description: Option<String>,
    pub schedule: Schedule,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub catchup: bool,
    pub timezone: chrono_tz::Tz,
    pub max_active_runs: usize,
    pub max_active_tasks: usize,
    pub project_dir: PathBuf,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub select: Vec<String>,
    pub exclude: Vec<String>,
    pub test_behavior: TestBehavior,
    pub vars: BTreeMap<String, serde_yaml::Value>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub retry_exponential_backoff: bool,
    pub max_retry_delay: Duration,
    /// Per attempt of a node; `None` lets it run as long as it needs.
    pub execution_timeout: Option<Duration>,
    pub params: BTreeMap<String, serde_yaml::Value>,
    /// Airflow's DAG tags: runner only carries them (to `export airflow`).
    pub tags: Vec<String>,
    pub paused: bool,
    pub lock_timeout: Option<Duration>,
    pub lock_policy: LockPolicy,
}

/// Parses a duration: a number of seconds, or `<n>ms|s|m|h|d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{text}` is not a duration (e.g. `30s`, `5m`)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" | "" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("`{text}` has an unknown unit (use ms, s, m, h or d)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is not a usable duration"))
}

fn parse_date(v: &serde_yaml::Value, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let text = match v {
        serde_yaml::Value::String(s) => s.clone(),
        other => return Err(format!("expected a date like `2025-01-01`, found `{other:?}`")),
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(&text) {
        return Ok(dt.with_timezone(&Utc));
    }
    let local = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").ok())
        .or_else(|| NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").ok())
        .ok_or_else(|| format!("`{text}` is not a date (use `YYYY-MM-DD` or RFC 3339)"))?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| format!("`{text}` does not exist in timezone `{tz}`"))
}

fn string_list(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::Null => Ok(Vec::new()),
        serde_yaml::Value::String(s) => Ok(s.split_whitespace().map(str::to_string).collect()),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| match i {
                serde_yaml::Value::String(s) => Ok(s.clone()),
                other => Err(format!("expected a selector string, found `{other:?}`")),
            })
            .collect(),
        other => Err(format!("expected a list of selectors, found `{other:?}`")),
    }
}

pub(crate) fn duration_value(v: &serde_yaml::Value) -> Result<Duration, String> {
    match v {
        serde_yaml::Value::Number(n) => n
            .as_f64()
            .and_then(|f| Duration::try_from_secs_f64(f).ok())
            .ok_or_else(|| format!("`{n}` is not a duration")),
        serde_yaml::Value::String(s) => parse_duration(s),
        other => Err(format!("expected a duration like `5m`, found `{other:?}`")),
    }
}

/// Parses one DAG file. `base` is the directory holding `dags/`, the default
/// project directory.
pub fn parse(file: &Path, shown: &Path, text: &str, base: &Path) -> Result<Dag, Vec<Diagnostic>> {
    let raw: RawDag = if text.trim().is_empty() {
        RawDag::default()
    } else {
        crate::yaml::from_str(text).map_err(|e| vec![e.in_file(shown)])?
    };
    let mut errors = Vec::new();
    let mut err = |key: &str, msg: String, hint: Option<&str>| {
        let mut d = Diagnostic::in_file(shown, format!("`{key}`: {msg}")).at(key_line(text, key), None);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        errors.push(d);
    };
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // The id names folders (history, logs, the pause marker): checked here, once.
    let id = raw.dag_id.clone().unwrap_or(stem);
    if let Err(e) = super::ids::check_dag_id(&id) {
        let hint = if raw.dag_id.is_some() {
            "use letters, digits, `_`, `-` and `.` only"
        } else {
            "rename the file, or set `dag_id:` to letters, digits, `_`, `-` and `.` only"
        };
        err("dag_id", e, Some(hint));
    }
    let timezone = match raw.timezone.as_deref() {
        None => chrono_tz::UTC,
        Some(tz) => tz.parse().unwrap_or_else(|_| {
            err("timezone", format!("unknown timezone `{tz}`"), Some("use an IANA name such as `Europe/Paris`"));
            chrono_tz::UTC
        }),
    };
    let schedule = match raw.schedule.as_deref() {
        None => Schedule::Manual,
        Some(s) => Schedule::parse(s).unwrap_or_else(|e| {
            err("schedule", e, Some("use a preset (`@daily`, `@hourly`, …) or 5 cron fields"));
            Schedule::Manual
        }),
    };
    let mut date = |key: &str, v: &Option<serde_yaml::Value>| {
        v.as_ref().and_then(|v| parse_date(v, timezone).map_err(|e| err(key, e, None)).ok())
    };
    let start_date = date("start_date", &raw.start_date);
    let end_date = date("end_date", &raw.end_date);
    if let (Some(s), Some(e)) = (start_date, end_date) {
        if e < s {
            err("end_date", format!("`{e}` is before `start_date` `{s}`"), None);
        }
    }
    let mut cap = |key: &str, v: Option<i64>, default: usize| match v {
        None => default,
        Some(n) if n >= 1 => n as usize,
        Some(n) => {
            err(key, format!("must be at least 1, found {n}"), None);
            default
        }
    };
    // Airflow's defaults: 16 runs and 16 tasks at once.
    let max_active_runs = cap("max_active_runs", raw.max_active_runs, 16);
    let max_active_tasks = cap("max_active_tasks", raw.max_active_tasks, 16);
    let retries = match raw.retries {
        None => 0,
        Some(n) if n >= 0 => n as u32,
        Some(n) => {
            err("retries", format!("must not be negative, found {n}"), None);
            0
        }
    };
    let test_behavior = match raw.test_behavior.as_deref() {
        None => TestBehavior::AfterAll,
        Some(s) => s.parse().unwrap_or_else(|_| {
            err(
                "test_behavior",
                format!("unknown value `{s}`"),
                Some("use `none`, `after_each`, `after_all` or `build`"),
            );
            TestBehavior::AfterAll
        }),
    };
    let mut list = |key: &str, v: &Option<serde_yaml::Value>| {
        v.as_ref().map(|v| {
            string_list(v).unwrap_or_else(|e| {
                err(key, e, None);
                Vec::new()
            })
        })
    };
    let select = list("select", &raw.select).unwrap_or_default();
    let exclude = list("exclude", &raw.exclude).unwrap_or_default();
    let mut dur = |key: &str, v: &Option<serde_yaml::Value>| {
        v.as_ref().and_then(|v| duration_value(v).map_err(|e| err(key, e, None)).ok())
    };
    let retry_delay = dur("retry_delay", &raw.retry_delay).unwrap_or(Duration::from_secs(300));
    // Airflow caps exponential retry delays at 24 hours unless told otherwise.
    let max_retry_delay = dur("max_retry_delay", &raw.max_retry_delay).unwrap_or(Duration::from_secs(86400));
    let lock_timeout = dur("lock_timeout", &raw.lock_timeout);
    let execution_timeout = dur("execution_timeout", &raw.execution_timeout);
    if execution_timeout == Some(Duration::ZERO) {
        err(
            "execution_timeout",
            "must be longer than zero".into(),
            Some("omit it to let nodes run as long as they need"),
        );
    }
    let lock_policy = match raw.lock_policy.as_deref() {
        None | Some("wait") => LockPolicy::Wait,
        Some("skip") => LockPolicy::Skip,
        Some("fail") => LockPolicy::Fail,
        Some(other) => {
            err("lock_policy", format!("unknown value `{other}`"), Some("use `wait`, `skip` or `fail`"));
            LockPolicy::Wait
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let project_dir = match raw.project_dir {
        Some(p) => base.join(p),
        None => base.to_path_buf(),
    };
    Ok(Dag {
        id,
        file: shown.to_path_buf(),
        description: raw.description,
        schedule,
        start_date,
        end_date,
        catchup: raw.catchup.unwrap_or(false),
        timezone,
        max_active_runs,
        max_active_tasks,
        project_dir,
        profile: raw.profile,
        target: raw.target,
        select,
        exclude,
        test_behavior,
        vars: raw.vars.unwrap_or_default(),
        retries,
        retry_delay,
        retry_exponential_backoff: raw.retry_exponential_backoff.unwrap_or(false),
        max_retry_delay,
        execution_timeout,
        params: raw.params.unwrap_or_default(),
        tags: raw.tags.unwrap_or_default(),
        paused: raw.paused.unwrap_or(false),
        lock_timeout,
        lock_policy,
    })
}

/// Every DAG in `<base>/dags`, by id, plus the errors of files that did not
/// load. An id defined by two files is an error in both, and neither loads:
/// which file wins would otherwise depend on file names.
pub fn load_all(base: &Path) -> (BTreeMap<String, Dag>, Vec<Diagnostic>) {
    let mut dags: BTreeMap<String, Vec<(Dag, Option<usize>)>> = BTreeMap::new();
    let mut errors = Vec::new();
    let dir = base.join("dags");
    // A missing `dags/` holds no DAG; an unreadable one is an error, not "unknown DAG".
    let listed = std::fs::read_dir(&dir).and_then(|rd| rd.map(|e| e.map(|e| e.path())).collect::<Result<Vec<_>, _>>());
    let mut files: Vec<PathBuf> = match listed {
        Ok(files) => files,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (BTreeMap::new(), errors),
        Err(e) => {
            errors.push(Diagnostic::in_file("dags", format!("cannot list the folder: {e}")));
            return (BTreeMap::new(), errors);
        }
    };
    files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")));
    files.sort();
    for file in files {
        let shown = file.strip_prefix(base).unwrap_or(&file).to_path_buf();
        let text = match crate::yaml::read(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Diagnostic::in_file(&shown, format!("cannot read: {e}")));
                continue;
            }
        };
        match parse(&file, &shown, &text, base) {
            Ok(dag) => dags.entry(dag.id.clone()).or_default().push((dag, key_line(&text, "dag_id"))),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut loaded = BTreeMap::new();
    for (id, mut defs) in dags {
        if defs.len() == 1 {
            if let Some((dag, _)) = defs.pop() {
                loaded.insert(id, dag);
            }
            continue;
        }
        for (i, (dag, line)) in defs.iter().enumerate() {
            let others: Vec<String> = defs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, (o, l))| match l {
                    Some(l) => format!("`{}:{l}`", o.file.display()),
                    None => format!("`{}`", o.file.display()),
                })
                .collect();
            errors.push(
                Diagnostic::in_file(&dag.file, duplicate_message(&id, &others.join(", ")))
                    .at(*line, None)
                    .hint("give each DAG its own `dag_id` (a file without one takes its file name)"),
            );
        }
    }
    (loaded, errors)
}

/// The message of a DAG id defined twice; `find` tells it from other errors.
fn duplicate_message(id: &str, others: &str) -> String {
    format!("duplicate dag_id `{id}`, also defined in {others}")
}

/// Whether `errors` hold the duplicate-id error of `id` (it did not load for that reason).
pub fn is_duplicate(errors: &[Diagnostic], id: &str) -> bool {
    let prefix = duplicate_message(id, "");
    errors.iter().any(|d| d.message.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Dag, Vec<Diagnostic>> {
        parse(Path::new("/p/dags/my_dag.yml"), Path::new("dags/my_dag.yml"), text, Path::new("/p"))
    }

    #[test]
    fn parses_the_cosmos_seed_dag() {
        let dag = parse_text(
            "dag_id: my_dag\nschedule: \"@daily\"\nstart_date: 2025-01-01\nmax_active_runs: 1\nmax_active_tasks: 1\nselect: [\"*\"]\ntest_behavior: after_all\n",
        )
        .expect("valid dag");
        assert_eq!(dag.id, "my_dag");
        assert!(matches!(&dag.schedule, Schedule::Cron(c) if c.text() == "0 0 * * *"), "{:?}", dag.schedule);
        assert_eq!(dag.start_date.map(|d| d.to_rfc3339()), Some("2025-01-01T00:00:00+00:00".into()));
        assert_eq!((dag.max_active_runs, dag.max_active_tasks), (1, 1));
        assert_eq!(dag.select, vec!["*"]);
        assert_eq!(dag.test_behavior, TestBehavior::AfterAll);
        assert_eq!(dag.project_dir, PathBuf::from("/p"));
    }

    #[test]
    fn dag_id_defaults_to_file_stem() {
        assert_eq!(parse_text("").expect("empty dag is valid").id, "my_dag");
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let errs = parse_text("dag_id: x\nschedul: \"@daily\"\n").expect_err("unknown key");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].file.as_deref(), Some(Path::new("dags/my_dag.yml")));
        assert_eq!(errs[0].line, Some(2));
        assert!(errs[0].message.contains("unknown field `schedul`"), "{}", errs[0].message);
    }

    #[test]
    fn collects_every_invalid_value_with_its_line() {
        let errs =
            parse_text("schedule: '61 * * * *'\ntimezone: Mars/Base\nmax_active_runs: 0\ntest_behavior: sometimes\n")
                .expect_err("invalid values");
        let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(2), Some(1), Some(3), Some(4)]);
    }

    #[test]
    fn end_before_start_is_an_error() {
        let errs = parse_text("start_date: 2025-02-01\nend_date: 2025-01-01\n").expect_err("bad range");
        assert!(errs[0].message.contains("before `start_date`"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("99999999999999999999999").is_err(), "overflow is an error, not a panic");
    }
}
