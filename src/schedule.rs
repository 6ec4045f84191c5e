//! Schedule arithmetic: presets and 5-field cron in a DAG's timezone, data
//! intervals, and which intervals are due (Airflow 2's rules R1–R6, R14).
//!
//! Pure functions of (DAG, now, logical dates already run): no I/O, no
//! clock, no run state. Times go in and out as UTC; cron is evaluated in the
//! DAG's timezone so `@daily` follows local midnight across DST changes.

use crate::project::dag::{Dag, Schedule};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::str::FromStr;

/// A data interval: `[start, end)`. `start` is the run's logical date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Translates standard cron's day-of-week field (0–7, Sunday = 0 or 7) into
/// the `cron` crate's numbering (1–7, Sunday = 1). Names pass through.
fn translate_dow(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let mut out: Vec<String> = Vec::new();
    let mut days: BTreeSet<u32> = BTreeSet::new();
    for token in field.split(',') {
        if token.chars().any(|c| c.is_ascii_alphabetic()) {
            out.push(token.to_string());
            continue;
        }
        let (range, step) = match token.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in `{token}`"))?),
            None => (token, 1),
        };
        if step == 0 {
            return Err(format!("step 0 in `{token}`"));
        }
        let num = |s: &str| {
            s.parse::<u32>().ok().filter(|n| *n <= 7).ok_or_else(|| format!("`{s}` is not a day of week (0-7)"))
        };
        let (lo, hi) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None if token.contains('/') => (num(r)?, 6),
                None => (num(r)?, num(r)?),
            },
        };
        if lo > hi {
            return Err(format!("range `{range}` runs backwards"));
        }
        days.extend((lo..=hi).step_by(step as usize).map(|d| d % 7));
    }
    out.extend(days.into_iter().map(|d| (d + 1).to_string()));
    Ok(out.join(","))
}

/// The `cron` crate's expression (seconds first) for a 5-field cron.
pub fn crate_expr(expr: &str) -> Result<String, String> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    if f.len() != 5 {
        return Err(format!("`{expr}` is not a 5-field cron expression"));
    }
    Ok(format!("0 {} {} {} {} {}", f[0], f[1], f[2], f[3], translate_dow(f[4])?))
}

/// A DAG's schedule, ready to evaluate.
#[derive(Debug, Clone)]
pub enum Timetable {
    Manual,
    Once,
    Cron(Box<cron::Schedule>, Tz),
}

impl Timetable {
    pub fn new(schedule: &Schedule, tz: Tz) -> Result<Timetable, String> {
        Ok(match schedule {
            Schedule::Manual => Timetable::Manual,
            Schedule::Once => Timetable::Once,
            Schedule::Cron(expr) => {
                let s =
                    cron::Schedule::from_str(&crate_expr(expr)?).map_err(|e| format!("invalid cron `{expr}`: {e}"))?;
                Timetable::Cron(Box::new(s), tz)
            }
        })
    }

    /// The first schedule point strictly after `t`. DST-ambiguous local times
    /// fire once (the earlier instant), as a wall clock would.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Timetable::Cron(s, tz) = self else { return None };
        let local = t.with_timezone(tz);
        let mut it = s.after(&local);
        let first = it.next()?;
        Some(first.with_timezone(&Utc))
    }

    /// The latest schedule point at or before `t`.
    pub fn at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Timetable::Cron(s, tz) = self else { return None };
        let probe = (t + Duration::seconds(1)).with_timezone(tz);
        let mut it = s.after(&probe);
        let prev = it.next_back()?;
        // Of an ambiguous pair the iterator yields the later instant first; keep the earlier.
        let earlier = it.next_back().filter(|e| e.naive_local() == prev.naive_local());
        Some(earlier.unwrap_or(prev).with_timezone(&Utc))
    }

    /// The first schedule point at or after `t` (R3's alignment).
    pub fn align(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(t - Duration::seconds(1))
    }

    /// The interval that starts at `t` (R1).
    pub fn interval_at(&self, t: DateTime<Utc>) -> Option<Interval> {
        Some(Interval { start: t, end: self.next_after(t)? })
    }

    /// R14: the last complete interval before `now`.
    pub fn last_complete(&self, now: DateTime<Utc>) -> Option<Interval> {
        let end = self.at_or_before(now)?;
        let start = self.at_or_before(end - Duration::seconds(1))?;
        Some(Interval { start, end })
    }
}

/// Scheduled intervals due at `now` that have not run yet, oldest first
/// (R1–R6). `done` holds the logical dates already run or running.
/// `max_active_runs` is not applied here: it is the scheduler's admission.
pub fn due(dag: &Dag, tt: &Timetable, now: DateTime<Utc>, done: &BTreeSet<DateTime<Utc>>) -> Vec<Interval> {
    let Some(start_date) = dag.start_date else { return Vec::new() };
    if matches!(tt, Timetable::Once) {
        let once = Interval { start: start_date, end: start_date };
        return if now >= start_date && done.is_empty() { vec![once] } else { Vec::new() };
    }
    let Some(first) = tt.align(start_date) else { return Vec::new() };
    let in_range = |i: &Interval| i.end <= now && dag.end_date.is_none_or(|e| i.start <= e);
    if !dag.catchup {
        // R6: only the latest complete interval, and never one before the first.
        let Some(latest) = tt.last_complete(now).filter(|i| i.start >= first) else { return Vec::new() };
        return if in_range(&latest) && !done.contains(&latest.start) { vec![latest] } else { Vec::new() };
    }
    let mut out = Vec::new();
    let mut t = first;
    while let Some(i) = tt.interval_at(t) {
        if !in_range(&i) {
            break;
        }
        if !done.contains(&i.start) {
            out.push(i);
        }
        t = i.end;
    }
    out
}

/// The UTC instant to wake at next: the end of the next interval not yet due.
pub fn next_wakeup(dag: &Dag, tt: &Timetable, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = dag.start_date?;
    let first_end = tt.align(start).and_then(|f| tt.next_after(f))?;
    let wake = if first_end > now { first_end } else { tt.next_after(now)? };
    match dag.end_date {
        Some(e) if tt.at_or_before(wake - Duration::seconds(1)).is_some_and(|s| s > e) => None,
        _ => Some(wake),
    }
}

/// What a run is about: its id and data interval, as templates see them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    pub run_id: String,
    pub run_type: String,
    pub interval: Interval,
}

impl RunContext {
    /// A manual run now (R14): the last complete interval before `now`, or
    /// the given logical date's interval; a DAG without a cron schedule gets
    /// the empty interval at its logical date.
    pub fn manual(tt: &Timetable, now: DateTime<Utc>, logical: Option<DateTime<Utc>>) -> RunContext {
        let interval = match logical {
            Some(t) => tt.interval_at(t).unwrap_or(Interval { start: t, end: t }),
            None => tt.last_complete(now).unwrap_or(Interval { start: now, end: now }),
        };
        RunContext { run_id: run_id("manual", now), run_type: "manual".into(), interval }
    }

    /// Airflow's template values: `ds`, `ds_nodash`, `ts`, `logical_date`,
    /// `data_interval_start`, `data_interval_end`, `run_id`.
    pub fn template_values(&self) -> Vec<(&'static str, String)> {
        let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
        let start = self.interval.start;
        vec![
            ("ds", start.format("%Y-%m-%d").to_string()),
            ("ds_nodash", start.format("%Y%m%d").to_string()),
            ("ts", iso(start)),
            ("logical_date", iso(start)),
            ("data_interval_start", iso(start)),
            ("data_interval_end", iso(self.interval.end)),
            ("run_id", self.run_id.clone()),
        ]
    }
}

/// Airflow's run id for a logical date: `scheduled__2025-01-01T00:00:00+00:00`.
pub fn run_id(kind: &str, logical: DateTime<Utc>) -> String {
    if kind == "manual" {
        // Manual runs are keyed by when they were triggered, to the microsecond.
        return format!("{kind}__{}", logical.format("%Y-%m-%dT%H:%M:%S%.6f+00:00"));
    }
    format!("{kind}__{}", logical.format("%Y-%m-%dT%H:%M:%S+00:00"))
}

#[cfg(test)]
mod tests;
