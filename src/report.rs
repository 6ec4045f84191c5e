//! The console report: dbt's lines, which users grep, and the summary.
//!
//! Consumes [`Event`]s and writes text; it decides nothing about the run.
//! Line shape follows dbt: `N of M <message> ....... [STATUS in 0.05s]`,
//! padded with dots to 80 columns.

use crate::events::{Event, HookLabel, NodeLabel, NodeResult, Sink, Status};
use crate::hooks::Phase;
use crate::nodes::Resource;
use std::io::Write;

const WIDTH: usize = 80;

/// Counts per outcome, as dbt's `Done.` line reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.pass + self.warn + self.error + self.skip
    }

    pub fn add(&mut self, s: Status) {
        match s {
            Status::Success | Status::Pass => self.pass += 1,
            Status::Warn => self.warn += 1,
            Status::Error | Status::Fail => self.error += 1,
            Status::Skipped => self.skip += 1,
        }
    }
}

pub fn line(index: usize, total: usize, message: &str, status: &str) -> String {
    let prefix = format!("{index} of {total} {message} ");
    let mut justified = prefix.clone();
    while justified.chars().count() < WIDTH {
        justified.push('.');
    }
    format!("{justified} [{status}]")
}

/// A model's language as dbt names it in its lines: `python` for a `.py`
/// file (dbt decides by the ending too), else `sql`.
fn language(n: &NodeLabel) -> &'static str {
    if n.file.ends_with(".py") {
        "python"
    } else {
        "sql"
    }
}

fn kind_text(n: &NodeLabel) -> String {
    match n.resource {
        Resource::Seed => format!("seed file {}", n.relation.as_deref().unwrap_or(&n.name)),
        Resource::Model => {
            format!("{} {} model {}", language(n), n.materialized, n.relation.as_deref().unwrap_or(&n.name))
        }
        Resource::Snapshot => format!("snapshot {}", n.relation.as_deref().unwrap_or(&n.name)),
        Resource::Test => format!("test {}", n.name),
        Resource::UnitTest => format!("unit_test {}", unit_name(n)),
    }
}

/// dbt's name for a unit test in its lines: `<model>::<test>`.
fn unit_name(n: &NodeLabel) -> String {
    match &n.tested_model {
        Some(m) => format!("{m}::{}", n.name),
        None => n.name.clone(),
    }
}

fn secs(r: &NodeResult) -> String {
    format!("in {:.2}s", r.duration.as_secs_f64())
}

pub fn finished_line(index: usize, total: usize, n: &NodeLabel, r: &NodeResult) -> String {
    let rel = n.relation.as_deref().unwrap_or(&n.name);
    let (msg, status) = match (n.resource, r.status) {
        (Resource::Seed, Status::Success) => {
            (format!("OK loaded seed file {rel}"), format!("INSERT {} {}", r.count.unwrap_or(0), secs(r)))
        }
        (Resource::Model, Status::Success) => {
            (format!("OK created {} {} model {rel}", language(n), n.materialized), format!("OK {}", secs(r)))
        }
        (Resource::Snapshot, Status::Success) => (format!("OK snapshotted {rel}"), format!("OK {}", secs(r))),
        (Resource::Seed, _) => (format!("ERROR loading seed file {rel}"), format!("ERROR {}", secs(r))),
        (Resource::Snapshot, _) => (format!("ERROR snapshotting {rel}"), format!("ERROR {}", secs(r))),
        (Resource::Model, _) => {
            (format!("ERROR creating {} {} model {rel}", language(n), n.materialized), format!("ERROR {}", secs(r)))
        }
        (Resource::Test, Status::Pass) => (format!("PASS {}", n.name), format!("PASS {}", secs(r))),
        (Resource::Test, Status::Warn) => {
            let c = r.count.unwrap_or(0);
            (format!("WARN {c} {}", n.name), format!("WARN {c} {}", secs(r)))
        }
        (Resource::Test, Status::Fail) => {
            let c = r.count.unwrap_or(0);
            (format!("FAIL {c} {}", n.name), format!("FAIL {c} {}", secs(r)))
        }
        (Resource::Test, _) => (format!("ERROR {}", n.name), format!("ERROR {}", secs(r))),
        (Resource::UnitTest, Status::Pass) => (format!("PASS {}", unit_name(n)), format!("PASS {}", secs(r))),
        (Resource::UnitTest, Status::Fail | Status::Warn) => {
            let c = r.count.unwrap_or(1);
            (format!("FAIL {c} {}", unit_name(n)), format!("FAIL {c} {}", secs(r)))
        }
        (Resource::UnitTest, _) => (format!("ERROR {}", unit_name(n)), format!("ERROR {}", secs(r))),
    };
    line(index, total, &msg, &status)
}

/// A run hook's finished line, as dbt prints it: `OK hook: shop.on-run-start.0`.
pub fn hook_line(index: usize, total: usize, h: &HookLabel, r: &NodeResult) -> String {
    let word = match r.status {
        Status::Error | Status::Fail => "ERROR",
        Status::Skipped => "SKIP",
        _ => "OK",
    };
    line(index, total, &format!("{word} hook: {}", h.name), &format!("{word} {}", secs(r)))
}

/// Writes the report to any writer (stdout in the binary, a buffer in tests).
pub struct Report<W: Write> {
    out: W,
    pub counts: Counts,
    /// Problems to repeat after the run, in the order they happened.
    problems: Vec<String>,
}

impl<W: Write> Report<W> {
    pub fn new(out: W) -> Self {
        Report { out, counts: Counts::default(), problems: Vec::new() }
    }

    fn say(&mut self, text: &str) {
        // A closed stdout (e.g. piped into `head`) must not abort the run.
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }
}

impl<W: Write> Sink for Report<W> {
    fn event(&mut self, e: &Event) {
        match e {
            Event::RunStarted { total, .. } => {
                let t = *total;
                self.say(&format!("Found {t} node{} to run.", if t == 1 { "" } else { "s" }));
                self.say("");
            }
            Event::NodeStarted { index, total, node } => {
                let text = line(*index, *total, &format!("START {}", kind_text(node)), "RUN");
                self.say(&text);
            }
            Event::NodeFinished { index, total, node, result } => {
                self.counts.add(result.status);
                let text = finished_line(*index, *total, node, result);
                self.say(&text);
                if result.attempts > 1 {
                    let n = result.attempts - 1;
                    self.say(&format!(
                        "  retried {n} time{} after write-write conflicts with other nodes",
                        plural(n as usize)
                    ));
                }
                match result.status {
                    // dbt words every unit test problem as a failure, and
                    // its message (the difference table) starts on its own line.
                    Status::Error | Status::Fail if node.resource == Resource::UnitTest => {
                        let message = result.message.as_deref().unwrap_or("").replace("\r\n", "\n");
                        let message = match result.status {
                            Status::Fail => message.trim().to_string(),
                            _ => format!("  {}", message.replace('\n', "\n  ")),
                        };
                        self.problems.push(format!("Failure in unit_test {} ({})\n{message}", node.name, node.file));
                    }
                    Status::Error => self.problems.push(format!(
                        "Error in {} {} ({})\n  {}",
                        node.resource.as_str(),
                        node.name,
                        node.file,
                        result.message.as_deref().unwrap_or("").replace('\n', "\n  ")
                    )),
                    Status::Fail | Status::Warn => self.problems.push(format!(
                        "{} in test {} ({})\n  {}",
                        if result.status == Status::Fail { "Failure" } else { "Warning" },
                        node.name,
                        node.file,
                        result.message.as_deref().unwrap_or("")
                    )),
                    _ => {}
                }
            }
            Event::NodeRetrying { index, total, node, result, attempt, max_attempts, delay } => {
                let status = format!("RETRY {attempt}/{max_attempts} in {:.2}s", result.duration.as_secs_f64());
                let text = line(*index, *total, &format!("RETRY {}", kind_text(node)), &status);
                self.say(&text);
                let why = result.message.as_deref().unwrap_or("").lines().next().unwrap_or("");
                self.say(&format!(
                    "  attempt {attempt} of {max_attempts} failed, retrying in {:.2}s: {why}",
                    delay.as_secs_f64()
                ));
            }
            Event::NodeSkipped { index, total, node, .. } => {
                self.counts.add(Status::Skipped);
                let what = match node.resource {
                    Resource::Test => format!("SKIP test {}", node.name),
                    Resource::UnitTest => format!("SKIP unit_test {}", node.name),
                    _ => format!("SKIP relation {}", node.relation.as_deref().unwrap_or(&node.name)),
                };
                let text = line(*index, *total, &what, "SKIP");
                self.say(&text);
            }
            Event::HookStarted { index, total, hook } => {
                // dbt sets the run's last hooks apart from the nodes above them.
                if hook.phase == Phase::End && *index == 1 {
                    self.say("");
                }
                self.say(&line(*index, *total, &format!("START hook: {}", hook.name), "RUN"));
            }
            Event::HookFinished { index, total, hook, result } => {
                self.counts.add(result.status);
                self.say(&hook_line(*index, *total, hook, result));
                if result.status == Status::Error {
                    self.problems.push(format!(
                        "Error in operation {} (dbt_project.yml)\n  {}",
                        hook.node_name,
                        result.message.as_deref().unwrap_or("").replace('\n', "\n  ")
                    ));
                }
                if hook.phase == Phase::Start && index == total {
                    self.say("");
                }
            }
            Event::RunFinished { elapsed } => {
                self.say("");
                self.say(&format!("Finished running {} nodes in {:.2}s.", self.counts.total(), elapsed.as_secs_f64()));
                let c = self.counts;
                if c.error == 0 && c.warn == 0 && c.skip == 0 {
                    self.say("Completed successfully");
                } else {
                    self.say(&format!(
                        "Completed with {} error{} and {} warning{}:",
                        c.error,
                        plural(c.error),
                        c.warn,
                        plural(c.warn)
                    ));
                    for p in std::mem::take(&mut self.problems) {
                        self.say("");
                        self.say(&p);
                    }
                }
                self.say("");
                self.say(&format!(
                    "Done. PASS={} WARN={} ERROR={} SKIP={} TOTAL={}",
                    c.pass,
                    c.warn,
                    c.error,
                    c.skip,
                    c.total()
                ));
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn label(resource: Resource, name: &str) -> NodeLabel {
        NodeLabel {
            id: format!("x.{name}"),
            name: name.into(),
            resource,
            tested_model: None,
            materialized: if resource == Resource::Model { "view".into() } else { String::new() },
            relation: (resource != Resource::Test).then(|| format!("main.{name}")),
            relation_name: None,
            file: format!("models/{name}.sql"),
        }
    }

    fn result(status: Status, count: Option<u64>) -> NodeResult {
        NodeResult {
            status,
            duration: Duration::from_millis(50),
            count,
            message: Some("boom".into()),
            started: 0.0,
            finished: 0.05,
            worker: 0,
            attempts: 1,
            sql: Vec::new(),
            compiled: None,
        }
    }

    #[test]
    fn lines_are_padded_like_dbt() {
        let l = line(1, 5, "START sql view model main.stg_orders", "RUN");
        assert_eq!(l, format!("1 of 5 START sql view model main.stg_orders {} [RUN]", ".".repeat(80 - 44)));
        assert_eq!(l.len(), 86);
    }

    #[test]
    fn finished_lines_per_kind() {
        let seed = finished_line(2, 5, &label(Resource::Seed, "raw_orders"), &result(Status::Success, Some(99)));
        assert!(
            seed.starts_with("2 of 5 OK loaded seed file main.raw_orders ...")
                && seed.ends_with("[INSERT 99 in 0.05s]"),
            "{seed}"
        );
        let fail =
            finished_line(4, 5, &label(Resource::Test, "not_null_orders_amount"), &result(Status::Fail, Some(3)));
        assert!(
            fail.starts_with("4 of 5 FAIL 3 not_null_orders_amount ...") && fail.ends_with("[FAIL 3 in 0.05s]"),
            "{fail}"
        );
        let err = finished_line(1, 5, &label(Resource::Model, "m"), &result(Status::Error, None));
        assert!(
            err.starts_with("1 of 5 ERROR creating sql view model main.m ...") && err.ends_with("[ERROR in 0.05s]"),
            "{err}"
        );
        // dbt's words for snapshots: `START snapshot`, `OK snapshotted`, `ERROR snapshotting`.
        let snap = label(Resource::Snapshot, "hist");
        assert_eq!(kind_text(&snap), "snapshot main.hist");
        let ok = finished_line(3, 5, &snap, &result(Status::Success, None));
        assert!(ok.starts_with("3 of 5 OK snapshotted main.hist ...") && ok.ends_with("[OK in 0.05s]"), "{ok}");
        let err = finished_line(3, 5, &snap, &result(Status::Error, None));
        assert!(
            err.starts_with("3 of 5 ERROR snapshotting main.hist ...") && err.ends_with("[ERROR in 0.05s]"),
            "{err}"
        );
    }

    #[test]
    fn run_hooks_print_as_dbt_prints_them_and_count() {
        let hook = |phase, i| HookLabel {
            id: format!(
                "operation.shop.shop-{}-{i}",
                if phase == Phase::Start { "on-run-start" } else { "on-run-end" }
            ),
            name: format!("shop.{}.{i}", if phase == Phase::Start { "on-run-start" } else { "on-run-end" }),
            node_name: format!("shop-on-run-start-{i}"),
            phase,
        };
        let mut buf = Vec::new();
        {
            let mut r = Report::new(&mut buf);
            r.event(&Event::HookStarted { index: 1, total: 2, hook: hook(Phase::Start, 0) });
            r.event(&Event::HookFinished {
                index: 1,
                total: 2,
                hook: hook(Phase::Start, 0),
                result: result(Status::Error, Some(1)),
            });
            r.event(&Event::HookFinished {
                index: 2,
                total: 2,
                hook: hook(Phase::Start, 1),
                result: result(Status::Skipped, Some(1)),
            });
            r.event(&Event::RunFinished { elapsed: Duration::from_millis(10) });
            assert!(r.counts.error + r.counts.skip > 0);
        }
        let text = String::from_utf8(buf).expect("utf8");
        assert!(text.starts_with("1 of 2 START hook: shop.on-run-start.0 ..."), "{text}");
        assert!(
            text.contains("1 of 2 ERROR hook: shop.on-run-start.0 ") && text.contains("[ERROR in 0.05s]"),
            "{text}"
        );
        assert!(
            text.contains("2 of 2 SKIP hook: shop.on-run-start.1 ") && text.contains("[SKIP in 0.05s]\n\n"),
            "{text}"
        );
        assert!(text.contains("Error in operation shop-on-run-start-0 (dbt_project.yml)\n  boom"), "{text}");
        assert!(text.ends_with("Done. PASS=0 WARN=0 ERROR=1 SKIP=1 TOTAL=2\n"), "{text}");
    }

    #[test]
    fn summary_counts_fail_as_error_and_skip() {
        let mut buf = Vec::new();
        {
            let mut r = Report::new(&mut buf);
            r.event(&Event::NodeFinished {
                index: 1,
                total: 3,
                node: label(Resource::Model, "a"),
                result: result(Status::Success, None),
            });
            r.event(&Event::NodeFinished {
                index: 2,
                total: 3,
                node: label(Resource::Test, "t"),
                result: result(Status::Fail, Some(2)),
            });
            r.event(&Event::NodeSkipped { index: 3, total: 3, node: label(Resource::Model, "b"), because: "a".into() });
            r.event(&Event::RunFinished { elapsed: Duration::from_millis(10) });
            assert!(r.counts.error + r.counts.skip > 0);
        }
        let text = String::from_utf8(buf).expect("utf8");
        assert!(text.ends_with("Done. PASS=1 WARN=0 ERROR=1 SKIP=1 TOTAL=3\n"), "{text}");
        assert!(text.contains("Failure in test t (models/t.sql)\n  boom"), "{text}");
    }
}
