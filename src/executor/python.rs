//! Building a Python model's relation: every relation its `dbt.ref` and
//! `dbt.source` calls name (and `dbt.this` when it runs incrementally) is
//! exported to a parquet file, the model runs in the user's Python (see
//! `crate::pymodel::process`), and the table is built from the parquet file
//! it returned — `create or replace table` for `table`, and for
//! `incremental` dbt-duckdb's path: the new rows into a temporary table,
//! then the strategy (see [`super::incremental`]). The scratch folder
//! (`target/python/<model>-…/`) is removed when the node ends. Owns that SQL;
//! the process and the compiled module are `pymodel`'s.

use super::{error, incremental, sql_string, Execution, Executor, Existing};
use crate::nodes::{Materialized, ModelSettings, Node, NodeKind};
use crate::pymodel::module::{self, ModuleCtx};
use crate::pymodel::process::{self, Input, Job};
use crate::pymodel::PyModel;
use crate::template::relation::Relation;
use std::path::Path;
use std::sync::Arc;

type Built = Result<Execution, (duckdb::Error, Vec<String>)>;

impl Executor {
    pub(super) fn python_model(
        &mut self,
        node: &Node,
        rel: &Relation,
        py: &PyModel,
        materialized: Materialized,
    ) -> Built {
        let full_refresh = self.full_refresh_for(node);
        let existing = match materialized {
            Materialized::Incremental => self.existing(rel).map_err(|e| (e, Vec::new()))?,
            _ => Existing::None,
        };
        let is_incremental = materialized == Materialized::Incremental && existing == Existing::Table && !full_refresh;
        let incremental = match &node.kind {
            NodeKind::Model { settings: ModelSettings::Incremental(cfg), .. } => Some(cfg.as_ref().clone()),
            _ => None,
        };
        let scratch = match scratch_dir(&self.python.scratch, &rel.identifier) {
            Ok(dir) => dir,
            Err(message) => return Ok(error(message, Vec::new(), 1)),
        };
        let dir = scratch.path();
        let (inputs, mut sql) = self.export_inputs(py, rel, is_incremental, dir)?;
        let config = node.config.clone();
        let config_default = crate::artifacts::manifest::model_config_default;
        let ctx = ModuleCtx { this: rel, relations: &self.relations, config: &config, is_incremental, config_default };
        let job = Job {
            model: node.file.display().to_string(),
            identifier: &rel.identifier,
            database: &rel.database,
            inputs,
            module: dir.join("model.py"),
            output: dir.join("result.parquet"),
            error: dir.join("error.txt"),
        };
        sql.push(format!(
            "-- `{}` runs `{}`; its result is {}",
            self.python.runtime.interpreter.to_string_lossy(),
            job.model,
            job.output.display()
        ));
        let result = process::run(&self.python.runtime, dir, &job, &module::text(py, &ctx), &self.python.stop);
        let output = match result {
            Ok(path) => path,
            Err(message) => return Ok(error(message, sql, 1)),
        };
        let select = format!("select * from read_parquet({})", sql_string(&output.display().to_string()));
        let built = match &incremental {
            // dbt-duckdb writes no `sql_header` for a Python model.
            None => self.model(rel, &select, Materialized::Table, node.ddl.as_deref(), None),
            Some(cfg) => {
                let custom = |name: &str, args: incremental::CustomArgs| {
                    self.templates.incremental_strategy_sql(
                        name,
                        args.target,
                        super::custom_arg_dict(&args),
                        Arc::new(node.config.clone()),
                        Some(node.project()),
                    )
                };
                let how =
                    incremental::How { full_refresh, cfg, custom: &custom, ddl: node.ddl.as_deref(), header: None };
                incremental::build(&self.conn, rel, &select, existing, how)
            }
        };
        let with_exports = |mut stmts: Vec<String>| {
            let mut all = sql.clone();
            all.append(&mut stmts);
            all
        };
        match built {
            Ok(e) => Ok(Execution { sql: with_exports(e.sql), ..e }),
            Err((e, stmts)) => Err((e, with_exports(stmts))),
        }
    }

    /// Exports what the model reads to parquet files in `dir`: each relation
    /// its refs and sources name once (a source on a file is read by the
    /// model's own DuckDB, as dbt-duckdb reads it), and `this` when it runs
    /// incrementally. Returns the inputs and the statements run.
    fn export_inputs(
        &self,
        py: &PyModel,
        this: &Relation,
        is_incremental: bool,
        dir: &Path,
    ) -> Result<(Vec<Input>, Vec<String>), (duckdb::Error, Vec<String>)> {
        let mut relations: Vec<&Relation> = Vec::new();
        relations.extend(py.refs.iter().filter_map(|r| self.relations.by_name.get(&r.name)));
        relations.extend(py.sources.iter().filter_map(|s| self.relations.sources.get(s)));
        if is_incremental {
            relations.push(this);
        }
        let (mut inputs, mut sql): (Vec<Input>, Vec<String>) = (Vec::new(), Vec::new());
        let mut seen: Vec<String> = Vec::new();
        for r in relations {
            let name = r.to_string();
            if r.external.is_some() || r.cte || seen.contains(&name) {
                continue;
            }
            let parquet = dir.join(format!("input_{}.parquet", seen.len()));
            let copy = format!(
                "copy (select * from {name}) to {} (format parquet)",
                sql_string(&parquet.display().to_string())
            );
            sql.push(copy);
            if let Err(e) = self.conn.execute_batch(sql.last().map_or("", String::as_str)) {
                return Err((e, sql));
            }
            seen.push(name);
            inputs.push(Input {
                database: r.database.clone(),
                schema: r.schema.clone(),
                identifier: r.identifier.clone(),
                parquet,
            });
        }
        Ok((inputs, sql))
    }
}

/// A fresh folder for one run of a model below `root` (created when missing).
fn scratch_dir(root: &Path, identifier: &str) -> Result<tempfile::TempDir, String> {
    let name: String =
        identifier.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    let made = std::fs::create_dir_all(root)
        .and_then(|()| tempfile::Builder::new().prefix(&format!("{name}-")).tempdir_in(root));
    made.map_err(|e| {
        crate::diag::io_message(&format!("cannot make a folder in `{}` for the Python model", root.display()), &e)
    })
}
