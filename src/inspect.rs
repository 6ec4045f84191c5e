//! Inspection commands: reading the run history for people and scripts.
//!
//! Reads only the history store, never the warehouse, so it never waits on
//! the warehouse lock. Formats and prints; decides nothing.

use crate::history::{History, RunRecord, RunState};
use serde_json::json;

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
