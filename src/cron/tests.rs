use super::*;

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
}

fn nexts(expr: &str, from: &str, n: usize) -> Vec<String> {
    let c = Cron::parse(expr).expect(expr);
    let mut t = at(from);
    (0..n)
        .map(|_| {
            t = c.next_after(t).expect("next");
            t.format("%Y-%m-%d %H:%M").to_string()
        })
        .collect()
}

#[test]
fn day_of_month_or_day_of_week() {
    // The 1st of the month OR Mondays, as in every standard cron.
    assert_eq!(nexts("0 0 1 * 1", "2024-12-31 00:00", 3), ["2025-01-01 00:00", "2025-01-06 00:00", "2025-01-13 00:00"]);
}

#[test]
fn last_nth_nearest_and_wrapping() {
    assert_eq!(nexts("0 0 L * *", "2025-01-15 00:00", 2), ["2025-01-31 00:00", "2025-02-28 00:00"]);
    assert_eq!(nexts("0 0 * * MON#1", "2025-01-01 00:00", 2), ["2025-01-06 00:00", "2025-02-03 00:00"]);
    assert_eq!(nexts("0 0 * * L5", "2025-01-01 00:00", 1), ["2025-01-31 00:00"], "last Friday");
    // 2025-11-15 is a Saturday: the nearest weekday is Friday the 14th.
    assert_eq!(nexts("0 0 15W * *", "2025-11-01 00:00", 1), ["2025-11-14 00:00"]);
    // Friday to Monday wraps over the week's end; Sunday is 0 or 7.
    assert_eq!(
        nexts("0 0 * * 5-1", "2025-10-27 00:00", 4),
        ["2025-10-31 00:00", "2025-11-01 00:00", "2025-11-02 00:00", "2025-11-03 00:00"]
    );
    assert_eq!(nexts("0 0 * * 7", "2025-01-01 00:00", 1), ["2025-01-05 00:00"]);
}

#[test]
fn croniters_quirks_are_kept() {
    // An equal range is the whole cycle; `a/s` starts at a.
    assert_eq!(nexts("0 0 * * 1-1", "2025-01-01 00:00", 2), ["2025-01-02 00:00", "2025-01-03 00:00"]);
    assert_eq!(nexts("59/15 * * * *", "2025-01-01 00:00", 2), ["2025-01-01 00:59", "2025-01-01 01:59"]);
    assert_eq!(nexts("*/90 * * * *", "2025-01-01 00:00", 1), ["2025-01-01 01:00"]);
}

#[test]
fn invalid_expressions_say_why() {
    for (bad, why) in [
        ("0 0 31 2 *", "never matches"),
        ("61 * * * *", "out of range"),
        ("0 0 * * 8", "out of range"),
        ("0 0 * * 5L", "not a value"),
        ("0 0 * * 1#6", "1 to 5"),
        ("0 0 L-2 * *", "not a number"),
        ("* * * * * *", "5 (minute"),
        ("0 0 * *", "has 4 fields"),
        ("0 0 1,15W * *", "single day"),
        ("0 0 * * 2,MON#2", "cannot mix"),
        ("H * * * *", "not supported"),
    ] {
        let e = Cron::parse(bad).expect_err(bad);
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn previous_is_strictly_before() {
    let c = Cron::parse("30 2 * * *").expect("cron");
    assert_eq!(c.prev_before(at("2025-03-09 02:30")), Some(at("2025-03-08 02:30")));
    assert_eq!(c.prev_before(at("2025-03-09 02:31")), Some(at("2025-03-09 02:30")));
    assert!(!c.every_hour());
    assert!(Cron::parse("*/15 * * * *").expect("cron").every_hour());
}
