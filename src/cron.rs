//! Cron expressions exactly as Airflow reads them: croniter's five fields,
//! evaluated on naive wall-clock minutes (Airflow adds the time zone after).
//!
//! Owns parsing (names, ranges, steps, wrapping ranges, `L`, `W`, `#`, `?`,
//! Sunday as 0 or 7) and finding the next or previous matching minute. It
//! knows no time zone and no DAG, and imports nothing of the crate: a DAG's
//! schedule is parsed with it when the DAG loads (`project::dag`), and
//! `timetable` evaluates it in the DAG's time zone. Why not the `cron`
//! crate: it ANDs the day-of-month and day-of-week fields where every
//! standard cron ORs them, and it has no `L`, `#`, `W`, wrapping ranges or
//! croniter's equal-range rule; `tests/cron_oracle.rs` checks this module
//! against Airflow itself.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::collections::{BTreeMap, BTreeSet};

/// croniter's field bounds: minute, hour, day of month, month, day of week.
const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
const MINUTE: usize = 0;
const HOUR: usize = 1;
const DAY: usize = 2;
const MONTH: usize = 3;
const DOW: usize = 4;
/// croniter gives up when no match lies within 50 years.
const MAX_YEARS: i64 = 50;
const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Which of its kind a `#` names: the n-th (1–5) or the last (`L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Nth {
    N(u32),
    Last,
}

/// One field as croniter expands it: any value, or a set.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Any,
    /// Values, plus (day of month only) `L`, the month's last day.
    Set {
        values: BTreeSet<u32>,
        last: bool,
    },
}

impl Field {
    fn is_any(&self) -> bool {
        matches!(self, Field::Any)
    }
    fn has(&self, v: u32) -> bool {
        match self {
            Field::Any => true,
            Field::Set { values, .. } => values.contains(&v),
        }
    }
}

/// A parsed five-field expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    fields: [Field; 5],
    /// `d#n` and `Ld`: weekday → which ones.
    nth: BTreeMap<u32, BTreeSet<Nth>>,
    /// `15W`: the weekday nearest to each day.
    nearest: BTreeSet<u32>,
    /// The expression as written (presets expanded), for display and export.
    text: String,
}

/// A value of a field while expanding: a number, `L`, `*`, or a weekday with `#n`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Num(u32),
    Last,
    Star,
}

fn alpha(field: usize, s: &str) -> Option<Item> {
    let pos = |names: &[&str]| names.iter().position(|n| *n == s).map(|i| i as u32);
    match field {
        DAY if s == "l" => Some(Item::Last),
        MONTH => pos(&MONTHS).map(|i| Item::Num(i + 1)),
        DOW => pos(&WEEKDAYS).map(Item::Num),
        _ => None,
    }
}

/// croniter's `value_alias`: Sunday is 0 or 7.
fn alias(field: usize, v: u32) -> u32 {
    if field == DOW && v == 7 {
        0
    } else {
        v
    }
}

fn number(field: usize, s: &str, expr: &str) -> Result<u32, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| format!("`{s}` in `{expr}` is too large"));
    }
    match alpha(field, s) {
        Some(Item::Num(n)) => Ok(n),
        _ => Err(format!("`{s}` in `{expr}` is not a number or a name this field takes")),
    }
}

/// `mon#2`, `1-5#3` with names, or `L5`: the weekday part and which.
fn special_dow(e: &str) -> Result<Option<(String, Nth)>, String> {
    if let Some((head, n)) = e.split_once('#') {
        let is_name_range = |h: &str| {
            let names = |x: &str| WEEKDAYS.contains(&x) || MONTHS.contains(&x);
            match h.split_once('-') {
                Some((a, b)) => names(a) && names(b),
                None => !h.is_empty() && h.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'),
            }
        };
        if is_name_range(head) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = n.parse().unwrap_or(0);
            if !(1..=5).contains(&n) {
                return Err(format!("`{e}`: the week of the month after `#` is 1 to 5"));
            }
            return Ok(Some((head.to_string(), Nth::N(n))));
        }
        return Ok(None);
    }
    if let Some(d) = e.strip_prefix('l') {
        if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Some((d.to_string(), Nth::Last)));
        }
    }
    Ok(None)
}

/// `15w` or `w15`.
fn nearest_weekday(e: &str) -> Option<&str> {
    let d = e.strip_suffix('w').or_else(|| e.strip_prefix('w'))?;
    (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

/// `low-high[/step]`, after croniter's rewrites of `*/s` and `a/s`.
fn step_range(t: &str) -> Option<(&str, &str, Option<&str>)> {
    let (range, step) = match t.split_once('/') {
        Some((r, s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => (r, Some(s)),
        Some(_) => return None,
        None => (t, None),
    };
    let (low, high) = range.split_once('-')?;
    (!low.is_empty() && !high.is_empty() && !high.contains('-')).then_some((low, high, step))
}

impl Cron {
    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses five fields as croniter does; presets are the caller's.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let lower = expr.to_ascii_lowercase();
        let raw: Vec<&str> = lower.split_ascii_whitespace().collect();
        match raw.len() {
            5 => {}
            6 | 7 => {
                return Err(format!(
                    "`{expr}` has {} fields: runner takes 5 (minute hour day month weekday), not seconds or years",
                    raw.len()
                ))
            }
            n => return Err(format!("`{expr}` has {n} fields; a cron expression has 5")),
        }
        let mut nth: BTreeMap<u32, BTreeSet<Nth>> = BTreeMap::new();
        let mut nearest = BTreeSet::new();
        let mut fields = Vec::with_capacity(5);
        for (i, &text) in raw.iter().enumerate() {
            if text.starts_with('h') || text.starts_with('r') {
                return Err(format!("`{text}` in `{expr}`: hashed and random values (`H`, `R`) are not supported"));
            }
            let text = if text.contains('?') {
                if text != "?" || !(i == DAY || i == DOW) {
                    return Err(format!("`{expr}`: `?` stands alone, in the day-of-month or day-of-week field"));
                }
                "*"
            } else {
                text
            };
            let res = Self::expand(i, text, expr, &mut nth, &mut nearest)?;
            let (lo, hi) = RANGES[i];
            let full = (hi - lo + 1) as usize;
            let other_has_star = |j: usize| raw[j].contains('*');
            let star = res.contains(&Item::Star);
            let nums: BTreeSet<u32> =
                res.iter().filter_map(|it| if let Item::Num(n) = it { Some(*n) } else { None }).collect();
            let last = res.contains(&Item::Last);
            // croniter: a field listing every value is `*`, except that day of
            // month and day of week keep their list when the other field has no
            // `*`, so the two are still ORed.
            let distinct = nums.len() + usize::from(last) + usize::from(star);
            let keep = (i == DAY && !other_has_star(DOW)) || (i == DOW && !other_has_star(DAY));
            let field =
                if star || (distinct == full && !keep) { Field::Any } else { Field::Set { values: nums, last } };
            fields.push(field);
        }
        if !nth.is_empty() {
            if let Field::Set { values, .. } = &fields[DOW] {
                let plain: Vec<&u32> = values.iter().filter(|v| !nth.contains_key(v)).collect();
                if !plain.is_empty() && values.len() != 7 {
                    return Err(format!("`{expr}`: a weekday field cannot mix plain days with `#`"));
                }
            }
        }
        let fields: [Field; 5] = fields.try_into().map_err(|_| format!("`{expr}` is not a cron expression"))?;
        let cron = Cron { fields, nth, nearest, text: expr.trim().to_string() };
        let from = NaiveDate::from_ymd_opt(2001, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
        if cron.search_next(from, |d| cron.day_matches(d)).is_none() {
            return Err(format!("`{expr}` never matches a date"));
        }
        // croniter ORs the two day fields by evaluating each alone; with `#` or
        // `W` each side keeps them, and a side that never matches fails the
        // whole expression (Airflow then cannot schedule it).
        let split = !cron.fields[DAY].is_any() && !cron.fields[DOW].is_any();
        if split && !(cron.nth.is_empty() && cron.nearest.is_empty()) {
            let month = |d: NaiveDate| cron.fields[MONTH].has(d.month());
            for (dom_any, dow_any, which) in [(false, true, "day-of-month"), (true, false, "day-of-week")] {
                if cron.search_next(from, |d| month(d) && cron.day_side(d, dom_any, dow_any)).is_none() {
                    return Err(format!("`{expr}`: its {which} side never matches a date together with `#` or `W`"));
                }
            }
        }
        Ok(cron)
    }

    /// One field's values, croniter's `_expand` step by step.
    fn expand(
        i: usize,
        text: &str,
        expr: &str,
        nth: &mut BTreeMap<u32, BTreeSet<Nth>>,
        nearest: &mut BTreeSet<u32>,
    ) -> Result<Vec<Item>, String> {
        let (lo, hi) = RANGES[i];
        // A stack, as croniter processes it: the last element first, and the
        // values of a range pushed back to be read one by one.
        let mut stack: Vec<(String, Option<Nth>)> = text.split(',').map(|e| (e.to_string(), None)).collect();
        let mut res: Vec<Item> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((mut e, mut which)) = stack.pop() {
            if i == DOW {
                if let Some((head, n)) = special_dow(&e)? {
                    e = head;
                    which = Some(n);
                }
            }
            if i == DAY {
                if let Some(d) = nearest_weekday(&e) {
                    let d: u32 = d.parse().unwrap_or(0);
                    if !(1..=31).contains(&d) {
                        return Err(format!("`{expr}`: the day before `W` is 1 to 31"));
                    }
                    if !stack.is_empty() || !res.is_empty() {
                        return Err(format!("`{expr}`: `W` takes a single day, not a list or range"));
                    }
                    nearest.insert(d);
                    res.push(Item::Num(d));
                    continue;
                }
            }
            let star_step = e.strip_prefix("*/").map(|s| format!("{lo}-{hi}/{s}"));
            let mut t = star_step.unwrap_or_else(|| e.clone());
            let mut parsed = step_range(&t).map(|(a, b, s)| (a.to_string(), b.to_string(), s.map(str::to_string)));
            let mut start_with_step = false;
            if parsed.is_none() {
                if let Some((a, s)) = e.split_once('/') {
                    if !a.is_empty() && !s.is_empty() {
                        t = format!("{a}-{hi}/{s}");
                        parsed = step_range(&t).map(|(a, b, s)| (a.to_string(), b.to_string(), s.map(str::to_string)));
                        start_with_step = parsed.is_some();
                    }
                }
            }
            if let Some((low, high, step)) = parsed {
                let high = if i == DAY && high == "l" { "31".to_string() } else { high };
                let step: u32 = match step {
                    Some(s) => s.parse().map_err(|_| format!("`{expr}`: step `{s}` is too large"))?,
                    None => 1,
                };
                if step == 0 {
                    return Err(format!("`{expr}`: a step of 0"));
                }
                let low = alias(i, number(i, &low, expr)?);
                let high = alias(i, number(i, &high, expr)?);
                if low.max(high) > hi {
                    return Err(format!("`{expr}`: `{e}` is out of range ({lo}-{hi})"));
                }
                let at_field_max = start_with_step && low == high;
                // croniter: an equal range written as one (`1-1`, `jan-jan`) is the whole cycle.
                let (low, high) = if low == high && !start_with_step { (lo, hi) } else { (low, high) };
                let values: Vec<u32> = if at_field_max {
                    vec![low]
                } else if low > high {
                    // A range that wraps (`fri-mon`, `nov-feb`), stepping across the end.
                    let whole: Vec<u32> = (lo..=hi).collect();
                    let mut v: Vec<u32> = (low..=hi).step_by(step as usize).collect();
                    let mut skip = 0;
                    if let Some(&last) = v.last() {
                        let already = whole.iter().rev().position(|&x| x == last).unwrap_or(0) as u32;
                        let pos = whole.iter().position(|&x| x == last).unwrap_or(0) as u32;
                        if pos + step > whole.len() as u32 && already < step {
                            skip = step - already;
                        }
                    }
                    v.extend((lo + skip..=high).step_by(step as usize));
                    v
                } else {
                    (low..=high).step_by(step as usize).collect()
                };
                // Each value is read again on its own, its `#n` with it, as croniter does.
                for v in values {
                    let key = match which {
                        Some(Nth::N(n)) => format!("{v}#{n}"),
                        _ => v.to_string(),
                    };
                    if seen.insert(key.clone()) {
                        stack.push((key, None));
                    }
                }
                continue;
            }
            if e.starts_with('-') {
                return Err(format!("`{expr}`: negative numbers are not allowed"));
            }
            let item = if e == "*" {
                Item::Star
            } else if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) {
                Item::Num(alias(i, e.parse().map_err(|_| format!("`{expr}`: `{e}` is too large"))?))
            } else {
                match alpha(i, &e) {
                    Some(Item::Num(n)) => Item::Num(alias(i, n)),
                    Some(other) => other,
                    None => return Err(format!("`{e}` in `{expr}` is not a value this field takes")),
                }
            };
            if let Item::Num(n) = item {
                if n < lo || n > hi {
                    return Err(format!("`{expr}`: `{e}` is out of range ({lo}-{hi})"));
                }
                if let (DOW, Some(w)) = (i, which) {
                    nth.entry(n).or_default().insert(w);
                }
            }
            res.push(item);
        }
        Ok(res)
    }

    /// Whether croniter counts the hour field as `*`: Airflow then keeps
    /// the time between runs across a DST change (its fold-hour workaround).
    pub(crate) fn every_hour(&self) -> bool {
        self.fields[HOUR].is_any()
    }

    fn day_side(&self, d: NaiveDate, dom_any: bool, dow_any: bool) -> bool {
        let dom = if !self.nearest.is_empty() {
            self.nearest.iter().any(|&w| nearest_weekday_to(d, w) == d.day())
        } else {
            dom_any
                || match &self.fields[DAY] {
                    Field::Any => true,
                    Field::Set { values, last } => values.contains(&d.day()) || (*last && d.day() == days_in(d)),
                }
        };
        let dow = if !self.nth.is_empty() {
            self.nth.iter().any(|(&wday, which)| which.iter().any(|&n| nth_weekday(d, wday, n) == Some(d.day())))
        } else {
            dow_any || self.fields[DOW].has(d.weekday().num_days_from_sunday())
        };
        dom && dow
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if !self.fields[MONTH].has(d.month()) {
            return false;
        }
        let (dom_any, dow_any) = (self.fields[DAY].is_any(), self.fields[DOW].is_any());
        if !dom_any && !dow_any {
            // Standard cron: day of month OR day of week.
            self.day_side(d, false, true) || self.day_side(d, true, false)
        } else {
            self.day_side(d, dom_any, dow_any)
        }
    }

    fn time_from(&self, from: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0) = (from.hour(), from.minute());
        for h in h0..24 {
            if !self.fields[HOUR].has(h) {
                continue;
            }
            let start = if h == h0 { m0 } else { 0 };
            if let Some(m) = (start..60).find(|&m| self.fields[MINUTE].has(m)) {
                return NaiveTime::from_hms_opt(h, m, 0);
            }
        }
        None
    }

    fn time_until(&self, to: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0) = (to.hour(), to.minute());
        for h in (0..=h0).rev() {
            if !self.fields[HOUR].has(h) {
                continue;
            }
            let end = if h == h0 { m0 } else { 59 };
            if let Some(m) = (0..=end).rev().find(|&m| self.fields[MINUTE].has(m)) {
                return NaiveTime::from_hms_opt(h, m, 0);
            }
        }
        None
    }

    /// The first matching minute strictly after `t` (croniter's `get_next`).
    pub(crate) fn next_after(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        self.search_next(t, |d| self.day_matches(d))
    }

    fn search_next(&self, t: NaiveDateTime, day_matches: impl Fn(NaiveDate) -> bool) -> Option<NaiveDateTime> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut day = start.date();
        let mut from = start.time();
        let limit = start.date() + Duration::days(366 * MAX_YEARS);
        while day <= limit {
            if day_matches(day) {
                if let Some(time) = self.time_from(from) {
                    return Some(day.and_time(time));
                }
            }
            day = day.succ_opt()?;
            from = NaiveTime::MIN;
        }
        None
    }

    /// The last matching minute strictly before `t` (croniter's `get_prev`).
    pub(crate) fn prev_before(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let end = (t - Duration::nanoseconds(1000)).with_second(0)?.with_nanosecond(0)?;
        let mut day = end.date();
        let mut to = end.time();
        let limit = end.date() - Duration::days(366 * MAX_YEARS);
        while day >= limit {
            if self.day_matches(day) {
                if let Some(time) = self.time_until(to) {
                    return Some(day.and_time(time));
                }
            }
            day = day.pred_opt()?;
            to = NaiveTime::from_hms_opt(23, 59, 0)?;
        }
        None
    }
}

fn days_in(d: NaiveDate) -> u32 {
    let (y, m) = (d.year(), d.month());
    let first_next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    first_next.and_then(|f| f.pred_opt()).map_or(28, |l| l.day())
}

/// The day of the `n`-th (or last) `wday` (Sunday = 0) in `d`'s month.
fn nth_weekday(d: NaiveDate, wday: u32, n: Nth) -> Option<u32> {
    let first = d.with_day(1)?;
    let offset = (wday + 7 - first.weekday().num_days_from_sunday()) % 7;
    let days: Vec<u32> = (1 + offset..=days_in(d)).step_by(7).collect();
    match n {
        Nth::Last => days.last().copied(),
        Nth::N(k) => days.get(k as usize - 1).copied(),
    }
}

/// croniter's `W`: the weekday nearest to `day` within `d`'s month.
fn nearest_weekday_to(d: NaiveDate, day: u32) -> u32 {
    let last = days_in(d);
    let day = day.min(last);
    let Some(date) = d.with_day(day) else { return day };
    match date.weekday().num_days_from_monday() {
        5 if day > 1 => day - 1,
        5 => day + 2,
        6 if day < last => day + 1,
        6 => day - 2,
        _ => day,
    }
}

#[cfg(test)]
mod tests;
