//! Benchmark P3's core: planning alone (load, render the resolve pass, graph,
//! selection), in-process and without the artifacts `runner ls` and
//! `runner compile` write, so the harness can tell planning from artifact
//! writing and `callgrind` can profile planning by itself.
//!
//! `bench_plan <project dir> <DAG>` (run from anywhere) prints one line:
//! `plan <seconds> select <seconds> nodes <N> selected <M>`. It calls the same
//! library functions `runner` does; it owns no planning logic.

use clap::Parser;
use runner::timetable::{RunContext, Timetable};
use std::time::Instant;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, dag_name] = args.as_slice() else {
        return Err("usage: bench_plan <project dir> <DAG>".into());
    };
    let started = Instant::now();
    let raw = runner::cli::RawCli::try_parse_from(["runner", "ls", dag_name, "--project-dir", dir])
        .map_err(|e| e.to_string())?;
    let opts = runner::cli::Options::from_raw(raw).map_err(|e| e.to_string())?;
    let (dags, _) = runner::project::dag::load_all(&opts.project_dir);
    let dag = dags.get(dag_name).ok_or_else(|| format!("no DAG `{dag_name}` in `{dir}`"))?;
    let run = RunContext::manual(&Timetable::Manual, chrono::Utc::now(), None);
    let prep = runner::app::prepare(&opts, Some(dag), &run).map_err(|e| e.to_string())?;
    let planned = started.elapsed();
    let selected = runner::select::select(&prep.plan, &dag.select, &dag.exclude)?;
    let selecting = started.elapsed() - planned;
    println!(
        "plan {:.4} select {:.4} nodes {} selected {}",
        planned.as_secs_f64(),
        selecting.as_secs_f64(),
        prep.plan.nodes.len(),
        selected.len()
    );
    // As `runner ls` and `runner compile` do: the process ends here, and
    // freeing the plan piece by piece would only delay its exit.
    std::mem::forget(prep);
    Ok(())
}
