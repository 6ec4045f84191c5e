//! The Gantt timeline of a run as SVG: one lane per worker thread, one bar
//! per attempt, on an axis with round tick steps.
//!
//! As in the lineage graph, the bars are one `<path>` per state, so a
//! 10,000-task run stays light; their nodes, positions and tooltips follow
//! as JSON (`class="gantt-data"`), from which the page's script opens a
//! bar's task on click and shows its tooltip on hover.
//!
//! Pure: takes attempts with times and workers, returns coordinates and SVG
//! text. Knows nothing of the history, the manifest or HTTP.

use super::escape;
use super::lineage::{data_block, num, state_class};
use chrono::{DateTime, Utc};

pub(crate) const LABEL_W: f64 = 90.0;
pub(crate) const PLOT_W: f64 = 800.0;
pub(crate) const AXIS_H: f64 = 20.0;
pub(crate) const LANE_H: f64 = 24.0;
/// The narrowest bar drawn, so an instant task is still visible and clickable.
const MIN_BAR: f64 = 2.0;

/// One attempt to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    pub node: String,
    pub state: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The worker thread that ran it; `None` in records written before
    /// workers were recorded (packed into lanes of their own).
    pub worker: Option<usize>,
    pub try_number: u32,
}

/// Where one bar goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub lane: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    /// Lane names, top to bottom.
    pub lanes: Vec<String>,
    /// One per input bar, in input order.
    pub bars: Vec<Placed>,
    /// Tick positions and labels.
    pub ticks: Vec<(f64, String)>,
    pub width: f64,
    pub height: f64,
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().map_or(d.num_milliseconds() as f64 / 1e3, |us| us as f64 / 1e6)
}

/// A round step (1, 2 or 5 times a power of ten seconds) giving at most
/// about six ticks over `span`.
pub(crate) fn tick_step(span: f64) -> f64 {
    let raw = (span / 6.0).max(1e-3);
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * pow).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * pow)
}

fn tick_label(t: f64, step: f64) -> String {
    if step < 1.0 {
        format!("{:.0}ms", t * 1000.0)
    } else if t < 60.0 {
        format!("{t:.0}s")
    } else {
        let t = t.round() as u64;
        format!("{}m{:02}s", t / 60, t % 60)
    }
}

/// Lanes and bar positions. `bars` need not be sorted.
pub(crate) fn layout(bars: &[Bar]) -> Timeline {
    let mut workers: Vec<usize> = bars.iter().filter_map(|b| b.worker).collect();
    workers.sort_unstable();
    workers.dedup();
    let mut lanes: Vec<String> = workers.iter().map(|w| format!("thread {w}")).collect();
    // Bars without a worker: greedy packing, earliest first, into extra lanes.
    let mut lane_of = vec![0usize; bars.len()];
    let mut unknown: Vec<usize> = (0..bars.len()).filter(|&i| bars[i].worker.is_none()).collect();
    unknown.sort_by_key(|&i| (bars[i].start, bars[i].end, i));
    let mut free_at: Vec<DateTime<Utc>> = Vec::new();
    for i in unknown {
        let lane = match free_at.iter().position(|&t| t <= bars[i].start) {
            Some(l) => l,
            None => {
                free_at.push(bars[i].start);
                free_at.len() - 1
            }
        };
        free_at[lane] = bars[i].end.max(bars[i].start);
        lane_of[i] = workers.len() + lane;
    }
    lanes.extend((1..=free_at.len()).map(|k| format!("lane {k}")));
    for (i, b) in bars.iter().enumerate() {
        if let Some(w) = b.worker {
            lane_of[i] = workers.binary_search(&w).unwrap_or(0);
        }
    }
    let t0 = bars.iter().map(|b| b.start).min();
    let t1 = bars.iter().map(|b| b.end.max(b.start)).max();
    let span = match (t0, t1) {
        (Some(a), Some(b)) => secs(b - a).max(1e-3),
        _ => 1.0,
    };
    let scale = PLOT_W / span;
    let placed = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let from = t0.map_or(0.0, |t0| secs(b.start - t0));
            let len = secs(b.end - b.start).max(0.0);
            Placed {
                lane: lane_of[i],
                x: LABEL_W + from * scale,
                y: AXIS_H + lane_of[i] as f64 * LANE_H + 3.0,
                w: (len * scale).max(MIN_BAR),
            }
        })
        .collect();
    let step = tick_step(span);
    let ticks = (0..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= span * (1.0 + 1e-9))
        .map(|t| (LABEL_W + t * scale, tick_label(t, step)))
        .collect();
    Timeline {
        height: AXIS_H + lanes.len() as f64 * LANE_H,
        lanes,
        bars: placed,
        ticks,
        width: LABEL_W + PLOT_W + 20.0,
    }
}

/// The timeline as one `<svg>` element (colours come from the page's CSS).
/// `href` is what a bar's percent-encoded node id is appended to when it is
/// clicked.
pub(crate) fn svg(bars: &[Bar], href: &str) -> String {
    use std::fmt::Write;
    let t = layout(bars);
    let mut out = String::with_capacity(300 + bars.len() * 140);
    let _ = write!(
        out,
        "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" data-href=\"{href}\">",
        w = num(t.width),
        h = num(t.height),
        href = escape(href),
    );
    for (k, lane) in t.lanes.iter().enumerate() {
        let y = AXIS_H + k as f64 * LANE_H;
        let _ = write!(
            out,
            "<rect class=\"lane\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\"/><text class=\"lane-label\" x=\"4\" y=\"{}\">{}</text>",
            num(y),
            num(t.width),
            num(LANE_H),
            num(y + LANE_H / 2.0 + 4.0),
            escape(lane)
        );
    }
    for (x, label) in &t.ticks {
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/><text class=\"tick-label\" x=\"{x}\" y=\"14\">{}</text>",
            num(AXIS_H),
            num(t.height),
            escape(label),
            x = num(*x),
        );
    }
    let mut paths: std::collections::BTreeMap<String, String> = Default::default();
    let mut rows = Vec::with_capacity(bars.len());
    for (b, p) in bars.iter().zip(&t.bars) {
        let dur = secs(b.end - b.start).max(0.0);
        let d = paths.entry(state_class(&b.state)).or_default();
        let _ = write!(d, "M{} {}h{}v{}h-{}z", num(p.x), num(p.y), num(p.w), num(LANE_H - 6.0), num(p.w));
        rows.push(serde_json::json!([
            b.node,
            state_class(&b.state),
            p.x,
            p.y,
            p.w,
            format!("attempt {} · {} · {dur:.2}s", b.try_number, b.state)
        ]));
    }
    for (state, d) in &paths {
        let _ = write!(out, "<path class=\"bar st-{state}\" d=\"{d}\"/>");
    }
    out.push_str("</svg>");
    out.push_str(&data_block("gantt-data", &serde_json::Value::Array(rows)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("t") + chrono::TimeDelta::milliseconds(ms)
    }

    fn bar(node: &str, from: i64, to: i64, worker: Option<usize>) -> Bar {
        Bar { node: node.into(), state: "success".into(), start: at(from), end: at(to), worker, try_number: 1 }
    }

    #[test]
    fn one_lane_per_worker_with_exact_positions() {
        // 10 s in all: 80 px a second.
        let t = layout(&[bar("a", 0, 4000, Some(1)), bar("b", 0, 10_000, Some(0)), bar("c", 4000, 6500, Some(1))]);
        assert_eq!(t.lanes, ["thread 0", "thread 1"]);
        let xs: Vec<(usize, f64, f64, f64)> = t.bars.iter().map(|p| (p.lane, p.x, p.y, p.w)).collect();
        assert_eq!(
            xs,
            [
                (1, LABEL_W, AXIS_H + LANE_H + 3.0, 320.0),
                (0, LABEL_W, AXIS_H + 3.0, 800.0),
                (1, LABEL_W + 320.0, AXIS_H + LANE_H + 3.0, 200.0)
            ]
        );
        // Steps of 2 s over 10 s: six ticks.
        let labels: Vec<&str> = t.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0s", "2s", "4s", "6s", "8s", "10s"]);
        assert_eq!(t.ticks[1].0, LABEL_W + 160.0);
        assert_eq!(t.height, AXIS_H + 2.0 * LANE_H);
    }

    #[test]
    fn bars_without_a_worker_are_packed_greedily() {
        let t = layout(&[bar("a", 0, 100, None), bar("b", 50, 150, None), bar("c", 100, 200, None)]);
        assert_eq!(t.lanes, ["lane 1", "lane 2"]);
        assert_eq!(t.bars.iter().map(|p| p.lane).collect::<Vec<_>>(), [0, 1, 0]);
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step(10.0), 2.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(tick_step(0.5), 0.1), "{}", tick_step(0.5));
        assert_eq!(tick_step(600.0), 100.0);
        assert!(close(tick_step(3.0), 0.5), "{}", tick_step(3.0));
        assert_eq!(tick_label(90.0, 20.0), "1m30s");
        assert_eq!(tick_label(0.25, 0.05), "250ms");
    }

    #[test]
    fn an_instant_bar_is_still_visible_and_the_svg_is_exact() {
        let s = svg(&[bar("x<y>", 0, 0, Some(0))], "#task-");
        assert_eq!(
            s,
            "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 910 44\" width=\"910\" height=\"44\" data-href=\"#task-\">\
             <rect class=\"lane\" x=\"0\" y=\"20\" width=\"910\" height=\"24\"/><text class=\"lane-label\" x=\"4\" y=\"36\">thread 0</text>\
             <line class=\"tick\" x1=\"90\" y1=\"20\" x2=\"90\" y2=\"44\"/><text class=\"tick-label\" x=\"90\" y=\"14\">0ms</text>\
             <line class=\"tick\" x1=\"890\" y1=\"20\" x2=\"890\" y2=\"44\"/><text class=\"tick-label\" x=\"890\" y=\"14\">1ms</text>\
             <path class=\"bar st-success\" d=\"M90 23h2v18h-2z\"/>\
             </svg><script type=\"application/json\" class=\"gantt-data\">[[\"x\\u003cy>\",\"success\",90.0,23.0,2.0,\"attempt 1 · success · 0.00s\"]]</script>"
        );
    }
}
