use super::*;
use crate::project::dag::parse;
use chrono::TimeZone;
use std::path::Path;

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("valid time")
}

fn dag(yaml: &str) -> (Dag, Timetable) {
    let d = parse(Path::new("/p/dags/d.yml"), Path::new("dags/d.yml"), yaml, Path::new("/p")).expect("valid dag");
    let tt = Timetable::of(&d);
    (d, tt)
}

fn starts(v: &[Interval]) -> Vec<DateTime<Utc>> {
    v.iter().map(|i| i.start).collect()
}

const DAILY: &str = "schedule: '@daily'\nstart_date: 2025-01-01\n";

#[test]
fn weekly_fires_on_sunday() {
    // @weekly fires on Sunday: 2025-01-05 was a Sunday.
    let (_, tt) = dag("schedule: '@weekly'\nstart_date: 2025-01-01\n");
    assert_eq!(tt.next_after(utc(2025, 1, 1, 0)), Some(utc(2025, 1, 5, 0)));
}

#[test]
fn r1_an_interval_is_logical_date_to_next_point() {
    let (_, tt) = dag(DAILY);
    assert_eq!(
        tt.interval_at(utc(2025, 1, 1, 0)),
        Some(Interval { start: utc(2025, 1, 1, 0), end: utc(2025, 1, 2, 0) })
    );
}

#[test]
fn r2_nothing_runs_before_its_interval_ends() {
    let (d, tt) = dag(DAILY);
    let none = BTreeSet::new();
    assert!(due(&d, &tt, utc(2025, 1, 1, 23), &none).is_empty());
    assert_eq!(starts(&due(&d, &tt, utc(2025, 1, 2, 0), &none)), vec![utc(2025, 1, 1, 0)]);
}

#[test]
fn r3_an_unaligned_start_date_moves_forward_onto_the_schedule() {
    let (d, tt) = dag("schedule: '@daily'\nstart_date: 2025-01-01T10:00:00Z\ncatchup: true\n");
    assert_eq!(starts(&due(&d, &tt, utc(2025, 1, 3, 1), &BTreeSet::new())), vec![utc(2025, 1, 2, 0)]);
}

#[test]
fn r4_no_interval_starts_after_end_date() {
    let (d, tt) = dag("schedule: '@daily'\nstart_date: 2025-01-01\nend_date: 2025-01-03\ncatchup: true\n");
    let all = due(&d, &tt, utc(2025, 1, 10, 0), &BTreeSet::new());
    assert_eq!(starts(&all), vec![utc(2025, 1, 1, 0), utc(2025, 1, 2, 0), utc(2025, 1, 3, 0)]);
    assert_eq!(next_wakeup(&d, &tt, utc(2025, 1, 10, 0)), None);
}

#[test]
fn r5_catchup_runs_every_missed_interval_oldest_first() {
    let (d, tt) = dag("schedule: '@daily'\nstart_date: 2025-01-01\ncatchup: true\n");
    let done = BTreeSet::from([utc(2025, 1, 2, 0)]);
    assert_eq!(starts(&due(&d, &tt, utc(2025, 1, 4, 5), &done)), vec![utc(2025, 1, 1, 0), utc(2025, 1, 3, 0)]);
}

#[test]
fn r6_without_catchup_only_the_latest_interval() {
    let (d, tt) = dag(DAILY);
    let now = utc(2025, 1, 4, 5);
    assert_eq!(starts(&due(&d, &tt, now, &BTreeSet::new())), vec![utc(2025, 1, 3, 0)]);
    assert!(due(&d, &tt, now, &BTreeSet::from([utc(2025, 1, 3, 0)])).is_empty());
    assert_eq!(next_wakeup(&d, &tt, now), Some(utc(2025, 1, 5, 0)));
}

#[test]
fn r14_a_manual_run_covers_the_last_complete_interval() {
    let (_, tt) = dag(DAILY);
    let i = tt.last_complete(Utc.with_ymd_and_hms(2025, 6, 15, 10, 30, 0).single().expect("time")).expect("interval");
    assert_eq!((i.start, i.end), (utc(2025, 6, 14, 0), utc(2025, 6, 15, 0)));
    // Exactly on a boundary, the interval that just ended.
    assert_eq!(tt.last_complete(utc(2025, 6, 15, 0)).map(|i| i.start), Some(utc(2025, 6, 14, 0)));
}

#[test]
fn daily_follows_local_midnight_across_dst() {
    let (_, tt) = dag("schedule: '@daily'\nstart_date: 2025-03-01\ntimezone: Europe/Paris\n");
    // Spring forward on 2025-03-30: that local day lasts 23 hours.
    let spring = tt.interval_at(utc(2025, 3, 29, 23)).expect("interval");
    assert_eq!(spring.end, utc(2025, 3, 30, 22));
    // Fall back on 2025-10-26: 25 hours.
    let autumn = tt.interval_at(utc(2025, 10, 25, 22)).expect("interval");
    assert_eq!(autumn.end, utc(2025, 10, 26, 23));
}

#[test]
fn an_ambiguous_local_time_fires_once_at_its_later_instant() {
    // 02:30 happens twice in Paris on 2025-10-26 (00:30Z and 01:30Z); Airflow
    // reads wall-clock times with fold=1, the later one.
    let (_, tt) = dag("schedule: '30 2 * * *'\nstart_date: 2025-10-01\ntimezone: Europe/Paris\n");
    let first = tt.next_after(utc(2025, 10, 25, 12)).expect("point");
    assert_eq!(first, Utc.with_ymd_and_hms(2025, 10, 26, 1, 30, 0).single().expect("time"));
    let next = tt.next_after(first).expect("point");
    assert_eq!(next, Utc.with_ymd_and_hms(2025, 10, 27, 1, 30, 0).single().expect("time"));
}

#[test]
fn a_time_in_a_dst_gap_runs_at_the_same_time_after_the_gap() {
    // 02:30 does not exist in New York on 2025-03-09: Airflow runs at 03:30 EDT.
    let (d, tt) = dag("schedule: '30 2 * * *'\nstart_date: 2025-03-08\ntimezone: America/New_York\ncatchup: true\n");
    let got = starts(&due(&d, &tt, utc(2025, 3, 11, 0), &BTreeSet::new()));
    let at = |d, h, m| Utc.with_ymd_and_hms(2025, 3, d, h, m, 0).single().expect("time");
    assert_eq!(got, vec![at(8, 7, 30), at(9, 7, 30)], "the 9th runs at 07:30Z = 03:30 EDT");
}

#[test]
fn run_ids_follow_airflow() {
    assert_eq!(run_id("scheduled", utc(2025, 1, 1, 0)), "scheduled__2025-01-01T00:00:00+00:00");
}

#[test]
fn a_manual_run_context_templates_its_interval() {
    let (_, tt) = dag(DAILY);
    let now = Utc.with_ymd_and_hms(2025, 6, 15, 10, 30, 0).single().expect("time");
    let ctx = RunContext::manual(&tt, now, None);
    let values: std::collections::BTreeMap<_, _> = ctx.template_values().into_iter().collect();
    assert_eq!(values["ds"], "2025-06-14");
    assert_eq!(values["ds_nodash"], "20250614");
    assert_eq!(values["data_interval_start"], "2025-06-14T00:00:00+00:00");
    assert_eq!(values["data_interval_end"], "2025-06-15T00:00:00+00:00");
    assert_eq!(values["run_id"], "manual__2025-06-15T10:30:00.000000+00:00");
    let given = RunContext::manual(&tt, now, Some(utc(2025, 1, 3, 0)));
    assert_eq!((given.interval.start, given.interval.end), (utc(2025, 1, 3, 0), utc(2025, 1, 4, 0)));
}
