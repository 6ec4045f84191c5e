//! Compiling selected nodes for the artifacts: rendering each model and test
//! as the executor will, writing `target/compiled/`, and the manifest that
//! every planning command leaves in `target/`.
//!
//! Owns when artifacts are written, not their shape (that is
//! `crate::artifacts`). Never opens the database: rendering needs only the
//! plan's relations.

use super::Prepared;
use crate::artifacts::layout::Layout;
use crate::artifacts::manifest::{self, Manifest};
use crate::artifacts::{self, NodeFiles};
use crate::diag::Diagnostic;
use crate::nodes::{Node, NodeKind};
use crate::pymodel::module::ModuleCtx;
use crate::template::relation::Relation;
use crate::template::RenderCtx;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// A node's compiled SQL as the executor renders it (ephemeral CTEs
/// included; a Python model's compiled module), or why it could not be
/// rendered. Seeds have none.
/// `is_incremental()` is false: compiling never looks at the database.
fn render(prep: &Prepared, node: &Node) -> Option<Result<String, Diagnostic>> {
    let relations = prep.plan.relations.clone();
    let (template, this) = match &node.kind {
        // A unit test's SQL needs its inputs' column types from the database.
        NodeKind::Seed { .. } | NodeKind::UnitTest(_) => return None,
        NodeKind::GenericTest { sql, .. } => return Some(prep.templates.test_sql(sql, &relations, &node.config)),
        // A Python model compiles to its file and the `dbt` object it runs with.
        NodeKind::Model { python: Some(py), .. } => {
            let this = node.relation.clone()?;
            let ctx = ModuleCtx {
                this: &this,
                relations: &relations,
                config: &node.config,
                is_incremental: false,
                config_default: manifest::model_config_default,
            };
            return Some(Ok(crate::pymodel::module::text(py, &ctx)));
        }
        NodeKind::Model { template, .. } | NodeKind::Snapshot { template, .. } => (template, node.relation.clone()?),
        // The executor renders singular tests with this `this`; so do we.
        NodeKind::SingularTest { template, .. } => (template, Relation::new("", "", &node.name)),
    };
    let package = Some(node.project().to_string());
    let ctx = RenderCtx {
        this,
        relations,
        is_incremental: false,
        config: Arc::new(crate::artifacts::manifest::render_config(node)),
        package,
        node: Some(node.id.clone()),
    };
    Some(prep.templates.render_sql(template, &ctx))
}

/// The id of a run that is not a DAG run (`runner test`, `build`, …): `<command>__<UTC time>`.
pub(super) fn run_id_for(command: &str) -> String {
    format!("{command}__{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
}

/// `target/compiled` (and `run` beside it): each node's SQL goes below it
/// in its own project's folder (`<project>/models/x.sql`, a package's under
/// the package's name, as dbt writes them).
pub(super) fn sql_dir(prep: &Prepared, kind: &str) -> PathBuf {
    prep.project.target_dir.join(kind)
}

/// The manifest of this invocation: `compiled` is what it compiled,
/// `executed` what it runs.
pub(super) fn manifest_for<'p>(
    prep: &'p Prepared,
    compiled: &'p BTreeMap<String, String>,
    executed: &'p BTreeSet<String>,
    invocation_id: &'p str,
) -> Manifest<'p> {
    Manifest::new(manifest::Inputs {
        project: &prep.project,
        target: &prep.target,
        plan: &prep.plan,
        compiled,
        executed,
        invocation_id,
        started_at: chrono::Utc::now(),
        templates: Some(&prep.templates),
        metadata_env: Some(&prep.invocation.metadata_env),
    })
}

/// Hands the templates dbt's `selected_resources` and, when any template,
/// macro or hook names `graph` or `model`, dbt's `graph` (every node's and
/// source's entry of `manifest`; `model` is a node's own), before anything
/// renders with `execute` true, as dbt builds its flat graph once after
/// parsing. Unnamed, the graph is not built: at 8,000 nodes it costs a
/// large share of a short command's time and memory.
pub(super) fn set_graph(prep: &Prepared, selected: &BTreeSet<usize>, manifest: &Manifest) {
    let plan = &prep.plan;
    let selected = selected.iter().map(|&i| plan.node(i).id.clone()).collect();
    let node_hooks = plan.nodes.iter().flat_map(|n| n.hooks.pre.iter().chain(&n.hooks.post)).map(|h| h.sql.as_str());
    let run_hooks = plan.run_hooks.start.iter().chain(&plan.run_hooks.end).map(|h| h.sql.as_str());
    let entries = prep.templates.reads_graph(node_hooks.chain(run_hooks)).then(|| manifest.flat_graph());
    prep.templates.set_graph(entries, selected);
}

/// Writes `target/manifest.json`; a failure to write is a warning, never a failed run.
pub(super) fn write_manifest(prep: &Prepared, manifest: &Manifest) {
    if let Err(e) = manifest::write(&prep.project, manifest) {
        eprintln!("warning: {}", crate::diag::io_message("cannot write the manifest", &e));
    }
}

/// What compiling the selected nodes produced.
pub(super) struct Compiled<'p> {
    /// Unique id → compiled SQL.
    pub code: BTreeMap<String, String>,
    /// Nodes that failed to render, with the reason, in plan order.
    pub errors: Vec<(&'p Node, Diagnostic)>,
    pub files: BTreeMap<String, NodeFiles>,
}

/// The ephemeral models `nodes` read, directly or through other ephemerals,
/// and the ephemerals in `also`: dbt compiles them along with their readers.
pub(super) fn ephemerals_for<'p>(
    prep: &'p Prepared,
    nodes: &BTreeSet<usize>,
    also: &BTreeSet<String>,
) -> Vec<&'p Node> {
    let plan = &prep.plan;
    let by_id: BTreeMap<&str, &Node> = plan.ephemeral.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut todo: Vec<&str> = also.iter().map(String::as_str).collect();
    todo.extend(nodes.iter().flat_map(|&i| plan.declared_deps(plan.node(i)).iter().map(String::as_str)));
    let mut found: BTreeMap<&str, &Node> = BTreeMap::new();
    while let Some(id) = todo.pop() {
        if let Some(&n) = by_id.get(id) {
            if found.insert(id, n).is_none() {
                todo.extend(n.depends_on.iter().map(String::as_str));
            }
        }
    }
    found.into_values().collect()
}

/// Renders the selected nodes (and `ephemerals`) and writes
/// `target/compiled/`. Problems writing files are printed as warnings;
/// render errors are returned. Nodes render independently of each other, so
/// they are rendered and written on every core; the result is the same as
/// one loop's.
pub(super) fn compile<'p>(prep: &'p Prepared, nodes: &BTreeSet<usize>, ephemerals: &[&'p Node]) -> Compiled<'p> {
    let layout = Layout::new(&prep.project);
    let dir = sql_dir(prep, "compiled");
    let all: Vec<&Node> = nodes.iter().map(|&i| prep.plan.node(i)).chain(ephemerals.iter().copied()).collect();
    let done = crate::par::map(&all, |node| {
        let sql_path = PathBuf::from(node.project()).join(layout.sql_path(node));
        let rendered = render(prep, node);
        let written = match &rendered {
            Some(Ok(sql)) => artifacts::write_sql(&dir, &sql_path, sql).err(),
            _ => None,
        };
        (sql_path, rendered, written)
    });
    let mut out = Compiled { code: BTreeMap::new(), errors: Vec::new(), files: BTreeMap::new() };
    let mut write_failed = false;
    for (node, (sql_path, rendered, written)) in all.into_iter().zip(done) {
        if let Some(e) = written.filter(|_| !write_failed) {
            eprintln!("warning: {}", crate::diag::io_message("cannot write the compiled SQL", &e));
            write_failed = true;
        }
        let compiled_code = match rendered {
            Some(Ok(sql)) => {
                out.code.insert(node.id.clone(), sql.clone());
                Some(sql)
            }
            Some(Err(d)) => {
                out.errors.push((node, d));
                None
            }
            None => None,
        };
        out.files.insert(node.id.clone(), NodeFiles { sql_path, compiled_code });
    }
    out
}

/// Before a run: compile what will run, write the manifest, and say where
/// each node's SQL goes. Render errors are left for the executor to report
/// on the node itself.
pub(super) fn before_run(prep: &Prepared, nodes: &BTreeSet<usize>, invocation_id: &str) -> BTreeMap<String, NodeFiles> {
    let none = (BTreeMap::new(), BTreeSet::new());
    let manifest = manifest_for(prep, &none.0, &none.1, invocation_id);
    set_graph(prep, nodes, &manifest);
    let compiled = compile(prep, nodes, &ephemerals_for(prep, nodes, &BTreeSet::new()));
    let executed = nodes.iter().map(|&i| prep.plan.node(i).id.clone()).collect();
    write_manifest(prep, &manifest.with_compiled(&compiled.code, &executed));
    compiled.files
}

/// After a run whose nodes rendered differently as they ran (they read the
/// database): the manifest again, with that code.
pub(super) fn after_run(prep: &Prepared, nodes: &BTreeSet<usize>, compiled: &BTreeMap<String, String>) {
    let executed = nodes.iter().map(|&i| prep.plan.node(i).id.clone()).collect();
    write_manifest(prep, &manifest_for(prep, compiled, &executed, prep.templates.invocation_id()));
}
