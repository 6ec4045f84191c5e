//! Schedule arithmetic: presets and 5-field cron in a DAG's timezone, data
//! intervals, and which intervals are due (Airflow's rules R1–R6, R14), as
//! Airflow's `CronDataIntervalTimetable` computes them.
//!
//! Pure functions of (DAG, now, logical dates already run): no I/O, no
//! clock, no run state. Times go in and out as UTC; cron (parsed by
//! `crate::cron` when the DAG loaded) is evaluated in the DAG's timezone so
//! `@daily` follows local midnight across DST changes. It reads a loaded
//! `project::dag::Dag`, so it sits above `project`; only the scheduler side
//! (`scheduler`, `inspect`, `app`) uses it.

use crate::cron::Cron;
use crate::project::dag::{Dag, Schedule};
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// A data interval: `[start, end)`. `start` is the run's logical date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A DAG's schedule, ready to evaluate.
#[derive(Debug, Clone)]
pub enum Timetable {
    Manual,
    Once,
    Cron(Box<Cron>, Tz),
}

impl Timetable {
    /// A schedule (parsed when its DAG loaded) evaluated in `tz`.
    pub fn new(schedule: &Schedule, tz: Tz) -> Timetable {
        match schedule {
            Schedule::Manual => Timetable::Manual,
            Schedule::Once => Timetable::Once,
            Schedule::Cron(c) => Timetable::Cron(c.clone(), tz),
        }
    }

    /// The DAG's timetable: its schedule in its timezone.
    pub fn of(dag: &Dag) -> Timetable {
        Timetable::new(&dag.schedule, dag.timezone)
    }

    /// The first schedule point strictly after `t`: Airflow's `_get_next`.
    /// Cron runs on the wall clock; a point in a DST gap moves forward by the
    /// gap, and of a repeated hour the later instant is taken. A schedule
    /// that fires every hour instead adds the wall-clock distance as elapsed
    /// time (pendulum's `+ timedelta`), so the repeated hour is not skipped.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Timetable::Cron(c, tz) = self else { return None };
        let naive = t.with_timezone(tz).naive_local();
        let scheduled = c.next_after(naive)?;
        if !c.every_hour() {
            return Some(make_aware(scheduled, *tz));
        }
        Some(t + (scheduled - naive))
    }

    /// The last schedule point strictly before `t`: Airflow's `_get_prev`.
    pub fn prev_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Timetable::Cron(c, tz) = self else { return None };
        let naive = t.with_timezone(tz).naive_local();
        let scheduled = c.prev_before(naive)?;
        if !c.every_hour() {
            return Some(make_aware(scheduled, *tz));
        }
        Some(t + (scheduled - naive))
    }

    /// `t` if it is a schedule point, else the next one (Airflow's `_align_to_next`).
    pub fn align(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let next = self.next_after(t)?;
        Some(if self.prev_before(next) == Some(t) { t } else { next })
    }

    /// The latest schedule point at or before `t` (Airflow's `_align_to_prev`).
    pub fn at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let prev = self.prev_before(t)?;
        Some(if self.next_after(prev) == Some(t) { t } else { prev })
    }

    /// The interval that starts at `t` (R1).
    pub fn interval_at(&self, t: DateTime<Utc>) -> Option<Interval> {
        Some(Interval { start: t, end: self.next_after(t)? })
    }

    /// R14: the last complete interval before `now` (Airflow's
    /// `infer_manual_data_interval`).
    pub fn last_complete(&self, now: DateTime<Utc>) -> Option<Interval> {
        let end = self.at_or_before(now)?;
        Some(Interval { start: self.prev_before(end)?, end })
    }

    /// R6: the interval a DAG without catchup runs first at `now`, never one
    /// starting before `start_date` (Airflow's `_skip_to_latest`).
    pub fn latest(&self, now: DateTime<Utc>, start_date: DateTime<Utc>) -> Option<Interval> {
        let last_start = self.prev_before(now)?;
        let next_start = self.next_after(last_start)?;
        let start = if next_start == now { last_start } else { self.prev_before(last_start)? };
        self.interval_at(start.max(self.align(start_date)?))
    }

    /// The interval after `last` in a run of catchup intervals that began at
    /// `first` (Airflow's `next_dagrun_info` with a previous run).
    pub fn following(&self, last: Interval, first: DateTime<Utc>) -> Option<Interval> {
        let mut start = self.at_or_before(last.end)?.max(first);
        if start <= last.start {
            start = self.next_after(start)?;
        }
        self.interval_at(start)
    }
}

/// A wall-clock time in `tz` as Airflow's `make_aware` reads it (fold 1):
/// a time in a DST gap moves forward by the gap; of a repeated time, the
/// later instant.
fn make_aware(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.max(b).with_timezone(&Utc),
        LocalResult::None => {
            // The offsets on either side of the gap (transitions are months apart).
            let before = tz.offset_from_utc_datetime(&(naive - Duration::hours(30))).fix();
            let after = tz.offset_from_utc_datetime(&(naive + Duration::hours(30))).fix();
            let gap = Duration::seconds(i64::from(after.local_minus_utc() - before.local_minus_utc()));
            (naive + gap - Duration::seconds(i64::from(after.local_minus_utc()))).and_utc()
        }
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
        let Some(latest) = tt.latest(now, start_date) else { return Vec::new() };
        return if in_range(&latest) && !done.contains(&latest.start) { vec![latest] } else { Vec::new() };
    }
    let mut out = Vec::new();
    let mut next = tt.interval_at(first);
    while let Some(i) = next {
        if !in_range(&i) {
            break;
        }
        if !done.contains(&i.start) {
            out.push(i);
        }
        next = tt.following(i, first);
    }
    out
}

/// The next interval to end after `now`, the one the scheduler runs next:
/// the first one, or the one after the latest complete one (R6's).
pub fn next_interval(dag: &Dag, tt: &Timetable, now: DateTime<Utc>) -> Option<Interval> {
    let start = dag.start_date?;
    let first = tt.interval_at(tt.align(start)?)?;
    let next = if first.end > now { first } else { tt.following(tt.latest(now, start)?, first.start)? };
    match dag.end_date {
        Some(e) if next.start > e => None,
        _ => Some(next),
    }
}

/// The UTC instant to wake at next: the end of the next interval not yet due.
pub fn next_wakeup(dag: &Dag, tt: &Timetable, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_interval(dag, tt, now).map(|i| i.end)
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
