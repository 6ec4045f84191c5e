//! A SQL model's or a snapshot's SQL rendered as dbt compiles it: once,
//! before its materialization runs, so what `run_query` in the model does
//! and sees comes before the node's hooks and outside its transaction, as in
//! dbt (which compiles a node, then runs its materialization and its hooks).
//! Owns only that render and what it was told (`this`, `is_incremental()`);
//! building is `Executor::build_once`'s.

use super::{error, no_relation, Execution, Executor, Existing};
use crate::nodes::{Materialized, Node, NodeKind};
use crate::template::RenderCtx;
use std::sync::Arc;

/// A node's rendered SQL, with the context it rendered in and what existed.
pub(super) struct Compiled {
    pub sql: String,
    pub ctx: RenderCtx,
    pub existing: Existing,
}

/// The outcome of compiling: the SQL, or the node's error when it does not render.
pub(super) type Compile = Result<Compiled, Execution>;

impl Executor {
    /// Compiles `node` when it is a SQL model or a snapshot; `None` for the
    /// others, which render as they build. The error is DuckDB's (reading
    /// what exists).
    pub(super) fn compile(&self, node: &Node) -> Result<Option<Compile>, (duckdb::Error, Vec<String>)> {
        let (template, rel, existing, is_incremental) = match &node.kind {
            NodeKind::Model { template, materialized, python: None, .. }
                if *materialized != Materialized::Ephemeral =>
            {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                // Only an incremental model needs to know what exists before
                // it renders; views and tables find out by building (`model`).
                let existing = match materialized {
                    Materialized::Incremental => self.existing(rel).map_err(|e| (e, Vec::new()))?,
                    _ => Existing::None,
                };
                // dbt's `is_incremental()`: an incremental model whose table
                // exists, outside a full refresh.
                let is_incremental = *materialized == Materialized::Incremental
                    && existing == Existing::Table
                    && !self.full_refresh_for(node);
                (template, rel, existing, is_incremental)
            }
            NodeKind::Snapshot { template, .. } => {
                let rel = node.relation.as_ref().ok_or_else(|| no_relation(node))?;
                (template, rel, self.existing(rel).map_err(|e| (e, Vec::new()))?, false)
            }
            _ => return Ok(None),
        };
        let ctx = RenderCtx {
            this: rel.clone(),
            relations: self.relations.clone(),
            is_incremental,
            config: Arc::new(crate::artifacts::manifest::render_config(node)),
            package: Some(node.project().to_string()),
            node: Some(node.id.clone()),
        };
        Ok(Some(match self.templates.render_sql(template, &ctx) {
            Ok(sql) => Ok(Compiled { sql, ctx, existing }),
            Err(d) => Err(error(d.to_string(), Vec::new(), 1)),
        }))
    }

    /// `ahead`, or `node` compiled now.
    pub(super) fn compiled(
        &self,
        node: &Node,
        ahead: Option<Compile>,
    ) -> Result<Compile, (duckdb::Error, Vec<String>)> {
        if let Some(c) = ahead {
            return Ok(c);
        }
        let message = || format!("node `{}` has no SQL to compile", node.id);
        Ok(self.compile(node)?.unwrap_or_else(|| Err(error(message(), Vec::new(), 1))))
    }
}
