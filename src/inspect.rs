//! Inspection commands: reading the run history for people and scripts.
//!
//! Reads only the history store, never the warehouse, so it never waits on
//! the warehouse lock. Formats and prints; decides nothing.

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::history::{History, RunRecord, RunState};
use crate::project::dag::{Dag, Schedule};
use crate::timetable::{self, Timetable};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

fn state(s: RunState) -> &'static str {
    match s {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Success => "success",
        RunState::Failed => "failed",
    }
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| "-".into())
}

pub fn runs_json(runs: &[RunRecord]) -> serde_json::Value {
    json!(runs
        .iter()
        .map(|r| json!({
            "run_id": r.run_id,
            "dag_id": r.dag_id,
            "run_type": r.run_type,
            "logical_date": r.logical_date,
            "data_interval_start": r.data_interval_start,
            "data_interval_end": r.data_interval_end,
            "state": state(r.state),
            "start": r.start,
            "end": r.end,
        }))
        .collect::<Vec<_>>())
}

pub fn runs_table(runs: &[RunRecord]) -> String {
    let mut out = format!("{:<44} {:<8} {:<20} {:<20} {:<20}\n", "run_id", "state", "logical_date", "start", "end");
    for r in runs {
        out.push_str(&format!(
            "{:<44} {:<8} {:<20} {:<20} {:<20}\n",
            r.run_id,
            state(r.state),
            time(Some(r.logical_date)),
            time(r.start),
            time(r.end)
        ));
    }
    out
}

pub fn runs(history: &History, dag_id: &str, as_json: bool) {
    let runs = history.runs(dag_id);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&runs_json(&runs)).unwrap_or_default());
    } else {
        print!("{}", runs_table(&runs));
    }
}

fn schedule_text(s: &Schedule) -> String {
    match s {
        Schedule::Manual => "none".into(),
        Schedule::Once => "@once".into(),
        Schedule::Cron(c) => c.text().to_string(),
    }
}

/// One row of `runner dags`.
pub fn dag_row(dag: &Dag, history: &History, now: DateTime<Utc>) -> serde_json::Value {
    dag_row_of(dag, &history.runs(&dag.id), history.is_paused(&dag.id), now)
}

/// [`dag_row`] from runs already read (the UI reads them once per page).
pub fn dag_row_of<R: std::borrow::Borrow<RunRecord>>(
    dag: &Dag,
    runs: &[R],
    paused_marker: bool,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let last = runs.iter().map(|r| r.borrow()).max_by_key(|r| (r.start, r.logical_date));
    let tt = Some(Timetable::of(dag));
    let next = tt.as_ref().and_then(|tt| timetable::next_interval(dag, tt, now));
    let (next_logical, next_at) = (next.map(|i| i.start), next.map(|i| i.end));
    json!({
        "dag_id": dag.id,
        "schedule": schedule_text(&dag.schedule),
        "paused": dag.paused || paused_marker,
        "last_run_id": last.map(|r| r.run_id.clone()),
        "last_run_state": last.map(|r| state(r.state)),
        "next_run_logical_date": next_logical,
        "next_run_at": next_at,
        "file": dag.file.display().to_string(),
    })
}

pub fn dags(dags: &BTreeMap<String, Dag>, as_json: bool) {
    let now = Utc::now();
    let rows: Vec<serde_json::Value> = dags.values().map(|d| dag_row(d, &History::new(&d.project_dir), now)).collect();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return;
    }
    println!("{:<24} {:<14} {:<7} {:<30} {:<21}", "dag_id", "schedule", "paused", "last run", "next run at");
    for r in &rows {
        let text = |k: &str| r[k].as_str().map(str::to_string).unwrap_or_else(|| "-".into());
        let last = match r["last_run_state"].as_str() {
            Some(st) => format!("{st} ({})", text("last_run_id").split("__").nth(1).unwrap_or("")),
            None => "-".into(),
        };
        println!(
            "{:<24} {:<14} {:<7} {:<30} {:<21}",
            text("dag_id"),
            text("schedule"),
            r["paused"],
            last,
            text("next_run_at")
        );
    }
}

pub fn tasks(run: &RunRecord, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(&run.tasks).unwrap_or_default());
        return;
    }
    println!("run `{}` of `{}`: {}", run.run_id, run.dag_id, state(run.state));
    println!("{:<70} {:<16} {:>8} {:>10}", "task", "state", "attempts", "duration");
    for t in &run.tasks {
        let secs: f64 = t.attempts.iter().map(|a| a.duration).sum();
        println!("{:<70} {:<16} {:>8} {:>9.2}s", t.node, t.state, t.attempts.len(), secs);
    }
}

/// `runner logs`: a task's attempt logs in one run, oldest first. `node` is a
/// unique id or a name; `root` is the project directory the paths are under.
pub fn logs(root: &Path, run: &RunRecord, node: &str, attempt: Option<u32>, as_json: bool) -> Result<(), Error> {
    let task = find_task(run, node)?;
    let attempts: Vec<_> = task.attempts.iter().filter(|a| attempt.is_none_or(|n| a.try_number == n)).collect();
    if attempts.is_empty() {
        let msg = match attempt {
            Some(n) => format!("task `{}` of run `{}` has no attempt {n}", task.node, run.run_id),
            None => format!("task `{}` of run `{}` never ran ({})", task.node, run.run_id, task.state),
        };
        return Err(Error::Usage(Diagnostic::new(msg).hint(format!("see `runner tasks {}`", run.run_id))));
    }
    let read = |a: &crate::history::Attempt| match &a.log {
        Some(p) => std::fs::read_to_string(root.join(p))
            .map_err(|e| format!("cannot read the log `{}`: {e}", root.join(p).display())),
        None => Err("no log was recorded for this attempt".to_string()),
    };
    if as_json {
        let rows: Vec<serde_json::Value> = attempts
            .iter()
            .map(|a| {
                let (text, error) = match read(a) {
                    Ok(t) => (Some(t), None),
                    Err(e) => (None, Some(e)),
                };
                json!({"node": task.node, "try_number": a.try_number, "state": a.state, "log": a.log, "text": text, "error": error})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(());
    }
    for a in attempts {
        println!(
            "*** attempt {} of `{}`: {} · {}",
            a.try_number,
            task.node,
            a.state,
            a.log.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into())
        );
        match read(a) {
            Ok(text) => print!("{text}"),
            Err(e) => println!("{e}"),
        }
    }
    Ok(())
}

/// A task by unique id, or by name when exactly one task has it.
fn find_task<'a>(run: &'a RunRecord, node: &str) -> Result<&'a crate::history::TaskRecord, Error> {
    if let Some(t) = run.tasks.iter().find(|t| t.node == node) {
        return Ok(t);
    }
    // A model version's short name is `<name>.v<v>`; its bare name names every version.
    let by_name: Vec<_> = run
        .tasks
        .iter()
        .filter(|t| {
            let short = crate::nodes::fqn::short_name(&t.node);
            short == node || (t.node.starts_with("model.") && short.split_once(".v").is_some_and(|(n, _)| n == node))
        })
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Usage(
            Diagnostic::new(format!("run `{}` has no task `{node}`", run.run_id))
                .hint(format!("see its tasks with `runner tasks {}`", run.run_id)),
        )),
        many => Err(Error::Usage(
            Diagnostic::new(format!("`{node}` names {} tasks of run `{}`", many.len(), run.run_id)).hint(format!(
                "use a unique id: {}",
                many.iter().map(|t| format!("`{}`", t.node)).collect::<Vec<_>>().join(", ")
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_run_shown_is_the_one_the_scheduler_runs_across_a_dst_gap() {
        let text = "schedule: '30 2 * * *'\nstart_date: 2025-03-01\ntimezone: America/New_York\ncatchup: true\n";
        let dag = crate::project::dag::parse(
            std::path::Path::new("/p/dags/d.yml"),
            std::path::Path::new("dags/d.yml"),
            text,
            std::path::Path::new("/p"),
        )
        .expect("dag");
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc.with_ymd_and_hms(2025, 3, 9, 5, 0, 0).single().expect("now");
        let row = dag_row(&dag, &History::new(dir.path()), now);
        // 02:30 does not exist that night: the run is at 03:30 EDT (07:30Z), for
        // the interval that started at 02:30 EST the day before (07:30Z).
        assert_eq!(row["next_run_at"], "2025-03-09T07:30:00Z");
        assert_eq!(row["next_run_logical_date"], "2025-03-08T07:30:00Z");
        let tt = Timetable::of(&dag);
        let due = timetable::due(
            &dag,
            &tt,
            Utc.with_ymd_and_hms(2025, 3, 9, 7, 30, 0).single().expect("t"),
            &Default::default(),
        );
        let last = due.last().expect("due");
        assert_eq!(serde_json::json!(last.start), row["next_run_logical_date"], "the scheduler runs that interval");
        assert_eq!(serde_json::json!(last.end), row["next_run_at"]);
    }
}
