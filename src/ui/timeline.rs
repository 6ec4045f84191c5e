//! The Gantt timeline of a run as SVG: one lane per worker thread, one bar
//! per attempt, on an axis with round tick steps.
//!
//! Pure: takes attempts with times and workers, returns coordinates and SVG
//! text. Knows nothing of the history, the manifest or HTTP.

use super::escape;
use super::lineage::state_class;
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
    pub label: String,
    pub state: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The worker thread that ran it; `None` in records written before
    /// workers were recorded (packed into lanes of their own).
    pub worker: Option<usize>,
    pub try_number: u32,
    pub href: Option<String>,
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
pub(crate) fn svg(bars: &[Bar]) -> String {
    let t = layout(bars);
    let mut out = format!(
        "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.1} {h:.1}\" width=\"{w:.1}\" height=\"{h:.1}\">",
        w = t.width,
        h = t.height
    );
    for (k, lane) in t.lanes.iter().enumerate() {
        let y = AXIS_H + k as f64 * LANE_H;
        out.push_str(&format!(
            "<rect class=\"lane\" x=\"0.0\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{LANE_H:.1}\"/><text class=\"lane-label\" x=\"4.0\" y=\"{:.1}\">{}</text>",
            t.width,
            y + LANE_H / 2.0 + 4.0,
            escape(lane)
        ));
    }
    for (x, label) in &t.ticks {
        out.push_str(&format!(
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{AXIS_H:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"tick-label\" x=\"{x:.1}\" y=\"14.0\">{}</text>",
            t.height,
            escape(label)
        ));
    }
    for (b, p) in bars.iter().zip(&t.bars) {
        let dur = secs(b.end - b.start).max(0.0);
        let body = format!(
            "<rect class=\"bar st-{st}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} · attempt {} · {} · {dur:.2}s</title></rect>",
            p.x,
            p.y,
            p.w,
            LANE_H - 6.0,
            escape(&b.label),
            b.try_number,
            escape(&b.state),
            st = state_class(&b.state),
        );
        match &b.href {
            Some(h) => out.push_str(&format!("<a href=\"{}\">{body}</a>", escape(h))),
            None => out.push_str(&body),
        }
    }
    out.push_str("</svg>");
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
        Bar {
            node: node.into(),
            label: node.into(),
            state: "success".into(),
            start: at(from),
            end: at(to),
            worker,
            try_number: 1,
            href: None,
        }
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
        let s = svg(&[bar("x<y>", 0, 0, Some(0))]);
        assert_eq!(
            s,
            "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 910.0 44.0\" width=\"910.0\" height=\"44.0\">\
             <rect class=\"lane\" x=\"0.0\" y=\"20.0\" width=\"910.0\" height=\"24.0\"/><text class=\"lane-label\" x=\"4.0\" y=\"36.0\">thread 0</text>\
             <line class=\"tick\" x1=\"90.0\" y1=\"20.0\" x2=\"90.0\" y2=\"44.0\"/><text class=\"tick-label\" x=\"90.0\" y=\"14.0\">0ms</text>\
             <line class=\"tick\" x1=\"890.0\" y1=\"20.0\" x2=\"890.0\" y2=\"44.0\"/><text class=\"tick-label\" x=\"890.0\" y=\"14.0\">1ms</text>\
             <rect class=\"bar st-success\" x=\"90.0\" y=\"23.0\" width=\"2.0\" height=\"18.0\"><title>x&lt;y&gt; · attempt 1 · success · 0.00s</title></rect>\
             </svg>"
        );
    }
}
