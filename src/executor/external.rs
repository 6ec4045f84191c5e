//! The `external` materialization, as dbt-duckdb 1.9 runs it: the model's
//! rows go into a temporary table, an empty result gets one all-null row (so
//! the file has the columns), `COPY` writes the file, and the relation
//! becomes a view reading the file back (filtering that null row out when
//! the result was empty), so whoever refs the model reads the file. Every
//! build writes the file again: `--full-refresh` and `is_incremental()` do
//! not apply, as in dbt-duckdb. One transaction holds the statements, so a
//! failure keeps the old view (the file, written outside any transaction,
//! may already be new, as under dbt-duckdb). The settings and the text they
//! give are [`crate::nodes::external`]'s; this module runs the statements.
//! Deliberate differences: the staging table is a temporary table of the
//! connection, not a `<name>__dbt_tmp` table in the schema; a relative
//! location is the project's (see [`anchored`]), not the current directory's.

use super::tx::{quote, Tx};
use super::{built, error, is_conflict, Execution, Executor, Existing};
use crate::nodes::external::{self, External, Files};
use crate::nodes::Node;
use crate::template::relation::Relation;
use crate::template::RenderCtx;
use std::path::Path;

/// dbt renders a config value only when it holds Jinja (its `get_rendered`
/// fast path); so does runner.
fn has_jinja(text: &str) -> bool {
    ["{{", "{%", "{#", "}}", "%}", "#}"].iter().any(|m| text.contains(m))
}

impl Executor {
    /// Builds external model `rel` from its rendered `sql`.
    pub(super) fn external(
        &self,
        node: &Node,
        rel: &Relation,
        cfg: &External,
        sql: &str,
        ctx: &RenderCtx,
    ) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        let files = match self.external_files(node, rel, cfg, ctx) {
            Ok(files) => files,
            Err(message) => return Ok(error(message, Vec::new(), 1)),
        };
        let existing = self.existing(rel).map_err(|e| (e, Vec::new()))?;
        let mut tx = Tx::begin(&self.conn).map_err(|e| (e, Vec::new()))?;
        let header = super::header_of(node);
        match write_and_view(&mut tx, rel, sql, &files, existing, header.as_deref()) {
            Ok(()) => {
                let sql = tx.sql.clone();
                tx.commit().map(built).map_err(|e| (e, sql))
            }
            Err(e) if is_conflict(&e) => Err((e, std::mem::take(&mut tx.sql))),
            Err(e) => {
                let sql = std::mem::take(&mut tx.sql);
                let copying = sql.last().is_some_and(|s| s.starts_with("copy "));
                Ok(error(with_hint(e.to_string(), copying, &files.location), sql, 1))
            }
        }
    }

    /// The location and option values rendered in the model's context, as
    /// dbt-duckdb's materialization renders them, and the files they give.
    fn external_files(&self, node: &Node, rel: &Relation, cfg: &External, ctx: &RenderCtx) -> Result<Files, String> {
        let file = node.file.display().to_string();
        let render = |text: &str| -> Result<String, String> {
            if !has_jinja(text) {
                return Ok(text.to_string());
            }
            self.templates.render_hook(&file, text, ctx, Vec::new()).map_err(|d| d.message)
        };
        let (external_root, project) = self.templates.external_roots();
        let location = match &cfg.location {
            Some(l) => render(l)?,
            None => cfg.default_location(external_root, &rel.identifier),
        };
        let location = anchored(location, project);
        let options =
            cfg.options.iter().map(|(k, v)| Ok((k.clone(), render(v)?))).collect::<Result<Vec<_>, String>>()?;
        Ok(external::files(cfg, location, options))
    }
}

/// A relative location is the project's, as the database path is, and the
/// view reads it by its absolute path: runner started elsewhere
/// (`--project-dir`, the scheduler) writes under the project, and the view
/// reads the file from any directory (a BI tool's, `runner test` run
/// elsewhere). dbt-duckdb keeps the path as written, relative to wherever
/// dbt runs; run from the project, both write the same file. URLs and
/// absolute paths are used as written.
fn anchored(location: String, root: &Path) -> String {
    if location.contains("://") || Path::new(&location).is_absolute() {
        return location;
    }
    match root.canonicalize() {
        Ok(root) => {
            let relative = location.strip_prefix("./").unwrap_or(&location);
            root.join(relative).display().to_string()
        }
        Err(_) => location,
    }
}

/// The statements, in one transaction: stage (the `sql_header` in one
/// string with it, as dbt-duckdb's `create_table_as` writes it), pad an
/// empty result, write the file, then point the view at it.
fn write_and_view(
    tx: &mut Tx<'_>,
    rel: &Relation,
    sql: &str,
    files: &Files,
    existing: Existing,
    header: Option<&str>,
) -> Result<(), duckdb::Error> {
    // Temporary tables belong to this connection, so workers never collide.
    let tmp_name = format!("{}__dbt_tmp", rel.identifier);
    let tmp = format!("\"temp\".\"main\".{}", quote(&tmp_name));
    let stage = format!("create or replace temporary table {} as (\n{sql}\n)", quote(&tmp_name));
    tx.exec(super::with_header(header, stage))?;
    let rows = tx.count(format!("select count(*) as row_count from {tmp}"))?;
    let columns: Vec<String> = tx.columns("temp", "main", &tmp_name)?.into_iter().map(|c| c.name).collect();
    // dbt-duckdb writes one all-null row so the file has the columns, and
    // the view leaves it out.
    let mut filter = String::new();
    if rows == 0 {
        tx.exec(format!("insert into {tmp} values ({})", vec!["NULL"; columns.len()].join(", ")))?;
        filter = format!(
            "\n  where 1{}",
            columns.iter().map(|c| format!(" AND {} is not NULL", quote(c))).collect::<String>()
        );
    }
    tx.exec(format!("copy {tmp} to {} ({})", external::literal(&files.location), files.write_options))?;
    match existing {
        Existing::Table => tx.exec(format!("drop table {rel}"))?,
        Existing::View | Existing::None => {}
    }
    tx.exec(format!("create or replace view {rel} as (\n  select * from {}{filter}\n)", files.reader))?;
    tx.exec(format!("drop table {tmp}"))
}

/// DuckDB's message, with what to do when the file's folder is missing
/// (DuckDB writes files, and folders only for `partition_by`) or a partition
/// folder is in the way.
fn with_hint(message: String, copying: bool, location: &str) -> String {
    if copying && message.contains("Enable OVERWRITE option") {
        return format!(
            "{message}\n(hint: add `overwrite: true` (or `overwrite_or_ignore: true`) to the model's `options`)"
        );
    }
    let parent = Path::new(location).parent().filter(|p| !p.as_os_str().is_empty());
    match parent {
        Some(dir) if copying && !location.contains("://") && !dir.exists() => format!(
            "{message}\n(hint: create the folder `{}` (relative paths are the project's), or set the model's `location` or the profile's `external_root`)",
            dir.display()
        ),
        _ => message,
    }
}
