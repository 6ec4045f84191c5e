//! Cron as Airflow computes it: every case in `differential/cron/expected.json`
//! (hand-picked and random expressions, ten time zones, starts beside DST
//! changes) was computed by real Airflow's `CronDataIntervalTimetable`
//! (`differential/cron/regen.sh`). For each, runner must agree on whether the
//! schedule is valid, on the first intervals with catchup (R1, R3, R5), on the
//! manual run's interval (R14) and on the first run without catchup (R6).
//! Deliberate differences, each checked: runner takes 5 fields (croniter also
//! takes seconds and years), and `@once` is runner's own once-only schedule.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use runner::project::dag::Schedule;
use runner::timetable::{Interval, Timetable};
use serde_json::Value;

fn utc(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339").with_timezone(&Utc)
}

fn interval(start: &Value, end: &Value) -> Interval {
    Interval { start: utc(start), end: utc(end) }
}

/// Runner's reading of one case, or why it refused the schedule.
fn timetable(case: &Value) -> Result<Timetable, String> {
    let tz: chrono_tz::Tz = case["timezone"].as_str().expect("tz").parse().expect("known zone");
    let schedule = Schedule::parse(case["schedule"].as_str().expect("schedule"))?;
    Ok(Timetable::new(&schedule, tz))
}

#[test]
fn runner_computes_every_interval_airflow_computes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/differential/cron/expected.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("expected.json")).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 1000, "regenerate with differential/cron/regen.sh");
    let mut problems: Vec<String> = Vec::new();
    let (mut compared, mut refused) = (0, 0);
    for case in cases {
        let expr = case["schedule"].as_str().expect("schedule");
        let tz: chrono_tz::Tz = case["timezone"].as_str().expect("tz").parse().expect("zone");
        let name = format!("`{expr}` in {tz} from {}", case["start"]);
        let fields = expr.split_ascii_whitespace().count();
        let tt = timetable(case);
        if expr.eq_ignore_ascii_case("@once") {
            assert!(matches!(tt, Ok(Timetable::Once)), "{name}: @once is runner's once-only schedule");
            continue;
        }
        if !expr.starts_with('@') && fields > 5 && case.get("invalid").is_none() {
            match tt {
                Err(e) if e.contains("runner takes 5") => continue,
                other => {
                    problems.push(format!("{name}: seconds are refused on purpose, got {other:?}"));
                    continue;
                }
            }
        }
        let tt = match (tt, case.get("invalid")) {
            (Err(_), Some(_)) => {
                refused += 1;
                continue;
            }
            (Err(e), None) => {
                problems.push(format!("{name}: Airflow takes it, runner refuses: {e}"));
                continue;
            }
            (Ok(_), Some(why)) => {
                problems.push(format!("{name}: Airflow refuses it ({why}), runner takes it"));
                continue;
            }
            (Ok(tt), None) => tt,
        };
        compared += 1;
        let start =
            NaiveDateTime::parse_from_str(case["start"].as_str().expect("start"), "%Y-%m-%dT%H:%M:%S").expect("start");
        let start = tz.from_local_datetime(&start).earliest().expect("start exists").with_timezone(&Utc);
        // Catchup: the first interval at or after the start, then each following one.
        let first = tt.align(start).expect("a valid schedule has a first point");
        let mut got: Option<Interval> = tt.interval_at(first);
        for (i, want) in case["intervals"].as_array().expect("intervals").iter().enumerate() {
            let want = interval(&want[0], &want[1]);
            if got != Some(want) {
                problems.push(format!("{name}: interval {i}: Airflow {want:?}, runner {got:?}"));
                break;
            }
            got = tt.following(want, first);
        }
        for m in case["manual"].as_array().expect("manual") {
            let (at, want) = (utc(&m[0]), interval(&m[1], &m[2]));
            let got = tt.last_complete(at);
            if got != Some(want) {
                problems.push(format!("{name}: manual run at {at}: Airflow {want:?}, runner {got:?}"));
            }
        }
        for l in case["latest"].as_array().expect("latest") {
            if l[1].is_null() {
                continue; // Airflow's own assertion fired there.
            }
            let (at, want) = (utc(&l[0]), interval(&l[1], &l[2]));
            let got = tt.latest(at, start);
            if got != Some(want) {
                problems.push(format!("{name}: without catchup at {at}: Airflow {want:?}, runner {got:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases differ from Airflow ({compared} compared, {refused} refused by both):\n{}",
        problems.len(),
        cases.len(),
        problems.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(compared > 1000 && refused > 50, "{compared} compared, {refused} refused");
}
