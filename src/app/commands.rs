//! The commands dbt users reach for: `seed`, `snapshot`, `run` without a DAG, `build`,
//! `compile`, `ls` (and `debug`, in its own module). Each but `run` takes an
//! optional DAG for its project, profile, target, vars and selection, and
//! otherwise works on the project in `--project-dir`, honouring the common
//! selection flags. (`run` with a DAG is a DAG run, recorded in the history:
//! not this module's.)
//!
//! Owns which nodes each command runs and in which order (by calling the
//! scheduler's `run_plan`); `compile` and `ls` never open or lock the
//! database.

use super::compile::{self, sql_dir};
use super::session::execute;
use super::{find_dag, manual_run, prepare, selection_full, Prepared};
use crate::cli::{Command, ListOptions, Options};
use crate::db::LockMode;
use crate::diag::Diagnostic;
use crate::error::{Error, EXIT_NODE_FAILURE, EXIT_OK};
use crate::nodes::Resource;
use crate::project::dag::{Dag, TestBehavior};
use crate::run::{self, TaskRetry};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn run(opts: &Options) -> Result<i32, Error> {
    let dag_name = match &opts.command {
        Command::Run { dag: None } => None,
        Command::Seed { dag }
        | Command::Snapshot { dag }
        | Command::Build { dag }
        | Command::Compile { dag }
        | Command::Ls { dag, .. }
        | Command::Debug { dag } => dag.clone(),
        Command::RunOperation { .. } => None,
        other => {
            return Err(Error::Usage(Diagnostic::new(format!("`{}` is not a project command", other.name()))));
        }
    };
    let dag = dag_name.map(|n| find_dag(opts, &n)).transpose()?;
    if let Command::Debug { .. } = opts.command {
        return super::debug::run(opts, dag.as_ref());
    }
    let run = manual_run(opts, dag.as_ref(), chrono::Utc::now())?;
    let prep = prepare(opts, dag.as_ref(), &run)?;
    let chosen = selection_full(opts, dag.as_ref(), &prep.plan)?;
    let selected = chosen.nodes.clone();
    let code = match &opts.command {
        Command::Seed { .. } => {
            let seeds = only(&prep, &selected, |r| r == Resource::Seed);
            let rp = run::run_plan(&prep.plan, &seeds, TestBehavior::None, TaskRetry::NONE);
            execute(opts, &prep, dag.as_ref(), None, &rp, LockMode::Exclusive, None)
        }
        Command::Snapshot { .. } => {
            // dbt's `snapshot`: snapshots only, after their parents among them.
            let snapshots = only(&prep, &selected, |r| r == Resource::Snapshot);
            let rp = run::run_plan(&prep.plan, &snapshots, TestBehavior::None, TaskRetry::NONE);
            execute(opts, &prep, dag.as_ref(), None, &rp, LockMode::Exclusive, None)
        }
        Command::Run { .. } => {
            // dbt's `run`: models only; seeds and tests the selection matched are left out.
            let models = only(&prep, &selected, |r| r == Resource::Model);
            let rp = run::run_plan(&prep.plan, &models, TestBehavior::None, TaskRetry::NONE);
            execute(opts, &prep, dag.as_ref(), None, &rp, LockMode::Exclusive, None)
        }
        Command::Build { .. } => {
            // dbt's build order: a node waits for its parents' tests, and a
            // failing test skips everything downstream of what it tests.
            let rp = run::run_plan(&prep.plan, &selected, TestBehavior::Build, TaskRetry::NONE);
            execute(opts, &prep, dag.as_ref(), None, &rp, LockMode::Exclusive, None)
        }
        Command::Compile { .. } => compile_command(&prep, &selected, &chosen.ephemerals),
        Command::RunOperation { macro_name, args } => super::operation::run(opts, &prep, macro_name, args),
        Command::Ls { list, .. } => {
            ls(opts, dag.as_ref(), &prep, &selected, &chosen, list);
            Ok(EXIT_OK)
        }
        _ => Ok(EXIT_OK),
    };
    if matches!(opts.command, Command::Compile { .. } | Command::Ls { .. }) {
        // The process exits next: freeing a large project's plan piece by
        // piece (tens of milliseconds at 10k models) would only delay it.
        std::mem::forget(prep);
    }
    code
}

fn only(prep: &Prepared, selected: &BTreeSet<usize>, keep: impl Fn(Resource) -> bool) -> BTreeSet<usize> {
    selected.iter().copied().filter(|&i| keep(prep.plan.node(i).resource)).collect()
}

/// Renders every selected model and test into `target/compiled/`; a node
/// that does not render is reported and makes the exit code 1.
/// Selected ephemeral models are compiled too, and so is every ephemeral a
/// compiled node reads, as dbt does.
fn compile_command(prep: &Prepared, selected: &BTreeSet<usize>, ephemerals: &BTreeSet<String>) -> Result<i32, Error> {
    let nodes = only(prep, selected, |r| r != Resource::Seed);
    let (nothing, none) = (BTreeMap::new(), BTreeSet::new());
    let manifest = compile::manifest_for(prep, &nothing, &none, prep.templates.invocation_id());
    compile::set_graph(prep, selected, &manifest);
    let compiled = compile::compile(prep, &nodes, &compile::ephemerals_for(prep, &nodes, ephemerals));
    compile::write_manifest(prep, &manifest.with_compiled(&compiled.code, &none));
    for (node, d) in &compiled.errors {
        eprintln!("error: cannot compile {} `{}`: {d}", node.resource.as_str(), node.name);
    }
    // One node asked for is printed, as `dbt compile --select x` does.
    let asked: Vec<&crate::nodes::Node> = nodes
        .iter()
        .map(|&i| prep.plan.node(i))
        .chain(prep.plan.ephemeral.nodes.iter().filter(|n| ephemerals.contains(&n.id)))
        .collect();
    if let [node] = asked.as_slice() {
        if let Some(sql) = compiled.code.get(&node.id) {
            println!("Compiled node '{}' is:\n{sql}", node.name);
        }
    } else {
        let dir = sql_dir(prep, "compiled").join(&prep.project.name);
        let shown = dir.strip_prefix(&prep.project.root).unwrap_or(&dir);
        let n = compiled.code.len();
        println!("Compiled {n} node{} into {}", if n == 1 { "" } else { "s" }, shown.display());
    }
    Ok(if compiled.errors.is_empty() { EXIT_OK } else { EXIT_NODE_FAILURE })
}

/// Everything is selected: every declared source is listed, read or not.
/// A narrower selection lists the sources it matched (`source:raw+`).
fn lists_sources(opts: &Options, dag: Option<&Dag>) -> bool {
    let select = opts.select.clone().or_else(|| dag.map(|d| d.select.clone())).unwrap_or_default();
    select.iter().flat_map(|s| s.split_whitespace()).all(|s| s == "*")
}

fn ls(
    opts: &Options,
    dag: Option<&Dag>,
    prep: &Prepared,
    selected: &BTreeSet<usize>,
    chosen: &crate::select::Selection,
    list: &ListOptions,
) {
    // The manifest holds every field `ls` prints; dbt writes it on `ls` too.
    let (compiled, executed) = (Default::default(), BTreeSet::new());
    let manifest = compile::manifest_for(prep, &compiled, &executed, prep.templates.invocation_id());
    compile::write_manifest(prep, &manifest);
    let wanted = |t: &str| list.resource_types.is_empty() || list.resource_types.contains(t);
    let mut ids: Vec<String> = selected
        .iter()
        .map(|&i| prep.plan.node(i))
        .filter(|n| wanted(n.resource.as_str()))
        .map(|n| n.id.clone())
        .collect();
    // dbt lists ephemeral models though they never run.
    if wanted("model") {
        ids.extend(chosen.ephemerals.iter().cloned());
    }
    if wanted("source") {
        if lists_sources(opts, dag) {
            for p in prep.project.all() {
                ids.extend(p.sources.keys().map(|(s, t)| crate::nodes::fqn::source_id(&p.name, s, t)));
            }
        } else {
            ids.extend(chosen.sources.iter().cloned());
        }
    }
    if wanted("exposure") {
        ids.extend(chosen.exposures.iter().cloned());
    }
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        eprintln!("warning: no nodes selected");
        return;
    }
    // Buffered: stdout is line-buffered, one `write` per line, which was
    // 40,000 system calls for a listing of 10k models.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Outside `--output json` a line needs only the fields that name a node.
    let lookup = |id: &str| match list.output {
        crate::cli::ListOutput::Json => manifest.entry(id),
        _ => manifest.brief(id),
    };
    use std::io::Write;
    for line in super::list::lines(&lookup, &ids, list) {
        // A closed stdout (`runner ls | head`) just ends the listing.
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    // As above: a closed stdout is the reader's choice, not an error.
    let _ = out.flush();
}
