//! A seed, model or snapshot with `pre-hook` / `post-hook`, run as dbt's
//! materializations run them: the node compiled first (its SQL rendered,
//! `run_query` in it outside any transaction), hooks with `transaction:
//! false` before the transaction begins, then in one transaction the other
//! pre-hooks, the build and the other post-hooks, then after the commit the
//! post-hooks with `transaction: false`. A hook that fails fails the node;
//! inside the transaction it rolls back the build and every hook before it.
//!
//! Each hook is rendered right before it runs, in the node's context, as dbt
//! renders it, and `run_query` in it runs on the node's connection. As in
//! dbt, the transaction begins with the first statement that needs it (the
//! first in-transaction pre-hook that renders to SQL, else the build), so
//! what `run_query` does while that first hook renders is not in it. Owns
//! only this order; the build itself is [`Executor::build_once`]'s.

use super::compile::Compile;
use super::{error, Execution, Executor, Existing, NodeTransaction};
use crate::events::Status;
use crate::hooks::Hook;
use crate::nodes::{Materialized, Node, NodeKind};
use crate::template::relation::Relation;
use crate::template::RenderCtx;
use duckdb::Connection;

/// Which list a hook came from, for messages.
#[derive(Clone, Copy)]
enum Kind {
    Pre,
    Post,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Pre => crate::hooks::PRE,
            Kind::Post => crate::hooks::POST,
        }
    }
}

/// A hook that could not run: the node's error message.
struct Failed(String);

/// The node's transaction, begun by the first statement that needs it (dbt's
/// `auto_begin`); while open, builds join it instead of beginning their own.
#[derive(Default)]
struct Lazy(Option<NodeTransaction>);

impl Lazy {
    fn begin(&mut self, conn: &Connection) -> Result<(), duckdb::Error> {
        if self.0.is_none() {
            conn.execute_batch("BEGIN TRANSACTION")?;
            self.0 = Some(NodeTransaction::open());
        }
        Ok(())
    }
}

impl Executor {
    pub(super) fn build_with_hooks(&mut self, node: &Node) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let rc = self.hook_ctx(node).map_err(|e| (e, Vec::new()))?;
        // dbt compiles the node before its materialization runs any hook.
        let ahead = match self.compile(node)? {
            Some(Err(failed)) => return Ok(failed),
            other => other,
        };
        let mut sql = Vec::new();
        let file = node.file.display().to_string();
        if let Err(Failed(m)) = self.hooks(&file, node.hooks.before_begin(), Kind::Pre, &rc, &mut sql, None) {
            return Ok(error(m, sql, 1));
        }
        let mut tx = Lazy::default();
        let outcome = self.in_transaction(node, &file, &rc, &mut sql, &mut tx, ahead);
        let begun = tx.0.take().is_some();
        let built = match outcome {
            Ok(Ok(e)) if e.status == Status::Success => e,
            other => {
                if begun {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                return match other {
                    Ok(Ok(e)) => Ok(Execution { sql, ..e }),
                    Ok(Err(Failed(m))) => Ok(error(m, sql, 1)),
                    Err(e) => Err((e, sql)),
                };
            }
        };
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err((e, sql));
        }
        if let Err(Failed(m)) = self.hooks(&file, node.hooks.after_commit(), Kind::Post, &rc, &mut sql, None) {
            return Ok(error(m, sql, 1));
        }
        Ok(Execution { sql, ..built })
    }

    /// Pre-hooks, the build and post-hooks in the node's transaction, which
    /// `tx` begins when the first of them needs it. The outer error is
    /// DuckDB's (a write-write conflict is retried whole).
    fn in_transaction(
        &mut self,
        node: &Node,
        file: &str,
        rc: &RenderCtx,
        sql: &mut Vec<String>,
        tx: &mut Lazy,
        ahead: Option<Compile>,
    ) -> Result<Result<Execution, Failed>, duckdb::Error> {
        if let Err(f) = self.hooks(file, node.hooks.pre_in_transaction(), Kind::Pre, rc, sql, Some(&mut *tx)) {
            return Ok(Err(f));
        }
        tx.begin(&self.conn)?;
        let built = match self.build_once(node, ahead) {
            Ok(e) => e,
            Err((e, stmts)) => {
                sql.extend(stmts);
                return Err(e);
            }
        };
        sql.extend(built.sql.iter().cloned());
        if built.status != Status::Success {
            return Ok(Ok(built));
        }
        if let Err(f) = self.hooks(file, node.hooks.post_in_transaction(), Kind::Post, rc, sql, Some(tx)) {
            return Ok(Err(f));
        }
        Ok(Ok(built))
    }

    /// Renders and runs `hooks` in order; stops at the first that fails.
    /// A hook that renders to nothing is skipped, as dbt skips it; one that
    /// renders to SQL begins `tx` first, when given.
    fn hooks<'h>(
        &self,
        file: &str,
        hooks: impl Iterator<Item = &'h Hook>,
        kind: Kind,
        rc: &RenderCtx,
        sql: &mut Vec<String>,
        mut tx: Option<&mut Lazy>,
    ) -> Result<(), Failed> {
        for hook in hooks {
            let rendered = self
                .templates
                .render_hook(file, &hook.sql, rc, Vec::new())
                .map_err(|d| Failed(format!("{} failed to render: {}", kind.key(), d.message)))?;
            if rendered.is_empty() {
                continue;
            }
            if let Some(tx) = tx.as_deref_mut() {
                tx.begin(&self.conn).map_err(|e| Failed(format!("{} failed: {e}", kind.key())))?;
            }
            sql.push(rendered);
            let last = sql.last().map_or("", String::as_str);
            self.conn.execute_batch(last).map_err(|e| Failed(format!("{} failed: {e}", kind.key())))?;
        }
        Ok(())
    }

    /// The context hooks render in: the node's `this`, and `is_incremental()`
    /// as the model's own render sees it.
    fn hook_ctx(&self, node: &Node) -> Result<RenderCtx, duckdb::Error> {
        let this = node.relation.clone().unwrap_or_else(|| Relation::new("", "", &node.name));
        let is_incremental = match (&node.kind, &node.relation) {
            (NodeKind::Model { materialized: Materialized::Incremental, .. }, Some(rel)) => {
                self.existing(rel)? == Existing::Table && !self.full_refresh_for(node)
            }
            _ => false,
        };
        Ok(RenderCtx {
            this,
            relations: self.relations.clone(),
            is_incremental,
            config: std::sync::Arc::new(crate::artifacts::manifest::render_config(node)),
            package: Some(node.project().to_string()),
            node: Some(node.id.clone()),
        })
    }
}
