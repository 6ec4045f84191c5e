//! The snapshot materialization, as dbt-core 1.10's `snapshot` materialization
//! and `snapshots/helpers.sql` + `strategies.sql` run it with dbt-duckdb 1.9's
//! `snapshot_merge_sql` (an `update` of closed versions, then an `insert`).
//!
//! First run: the table is the query with the meta columns added
//! (`dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`, and
//! `dbt_is_deleted` for `hard_deletes: new_record`). Later runs build dbt's
//! staging table (insertions, updates, deletes, deletion records) as a
//! temporary table, add the target's missing columns, close the versions
//! that changed and insert the new ones — in one transaction, so a failure
//! keeps the previous history. The SQL is dbt's, clause for clause: the
//! meta columns' types and values (hashes included) come out as dbt's.
//! A strategy macro's answer ([`strategy::Answer`]: a custom strategy's, or
//! a project's override of `timestamp` / `check`) supplies the key, stamp,
//! hash, change test and delete handling in place of the config's.
//! Owns only that SQL and its order; configs are typed by `nodes::snapshot`.

use super::tx::{quote, Column, Tx};
use super::{built, error, is_conflict, Execution, Existing};
use crate::nodes::contract::PersistDocs;
use crate::nodes::snapshot::{CheckCols, HardDeletes, Key, SnapshotConfig, Strategy};
use crate::template::relation::Relation;
use duckdb::Connection;
pub(super) use strategy::Answer;

pub(super) mod strategy;

/// dbt-duckdb's `snapshot_get_time()`.
const SNAPSHOT_TIME: &str = "now()::timestamp";

/// The staging table's helper columns, never copied into the snapshot:
/// `keys` numbered ones besides the fixed names (see [`Sql::numbered_keys`]).
fn is_helper(name: &str, keys: usize) -> bool {
    let fixed = ["dbt_change_type", "DBT_CHANGE_TYPE", "dbt_unique_key", "DBT_UNIQUE_KEY"];
    fixed.contains(&name)
        || (1..=keys).any(|i| name == format!("dbt_unique_key_{i}") || name == format!("DBT_UNIQUE_KEY_{i}"))
}

/// The SQL of one snapshot: pure functions of its config, its strategy
/// macro's answer and its query.
pub(super) struct Sql<'a> {
    pub cfg: &'a SnapshotConfig,
    /// `None`: the built-in `timestamp` / `check` strategy of `cfg`.
    pub answer: Option<&'a Answer>,
}

impl Sql<'_> {
    /// The expression versions are stamped with: `updated_at`, or the snapshot time.
    fn updated_at(&self) -> &str {
        if let Some(a) = self.answer {
            return &a.updated_at;
        }
        match &self.cfg.strategy {
            Strategy::Timestamp { updated_at } | Strategy::Check { updated_at: Some(updated_at), .. } => updated_at,
            Strategy::Check { updated_at: None, .. } | Strategy::Macro(_) => SNAPSHOT_TIME,
        }
    }

    /// The key rows are matched on.
    fn key(&self) -> &Key {
        self.answer.map_or(&self.cfg.unique_key, |a| &a.unique_key)
    }

    fn hard_deletes(&self) -> HardDeletes {
        self.answer.map_or(self.cfg.hard_deletes, |a| a.hard_deletes)
    }

    /// How many `dbt_unique_key_<i>` helper columns are left out of the
    /// snapshot: dbt counts the strategy's key (a string by its characters)
    /// only when the config's `unique_key` is a list.
    fn numbered_keys(&self) -> usize {
        match (&self.cfg.unique_key, self.key()) {
            (Key::One(_), _) => 0,
            (Key::Many(_), Key::Many(ks)) => ks.len(),
            (Key::Many(_), Key::One(k)) => k.chars().count(),
        }
    }

    /// `dbt_scd_id`: the hash of the key and the stamp.
    fn scd_id(&self) -> String {
        if let Some(a) = self.answer {
            return a.scd_id.clone();
        }
        let mut args = match &self.cfg.unique_key {
            Key::One(k) => vec![k.clone()],
            Key::Many(ks) => ks.clone(),
        };
        args.push(self.updated_at().to_string());
        hash(&args)
    }

    /// A new version's `dbt_valid_to`: null, or `dbt_valid_to_current`, typed as the stamp.
    fn valid_to_current(&self) -> String {
        let u = self.updated_at();
        let current = self.cfg.valid_to_current.as_deref().unwrap_or("null");
        format!("coalesce(nullif({u}, {u}), {current})\n  as {}", self.cfg.columns.valid_to)
    }

    /// What a `dbt_valid_to` of the current version holds, in `table`.
    fn is_current(&self, table: &str, with_nulls: bool) -> String {
        let vt = format!("{table}{}", self.cfg.columns.valid_to);
        match &self.cfg.valid_to_current {
            Some(c) if with_nulls => format!("( ({vt} = {c}) or {vt} is null )"),
            Some(c) => format!("{vt} = {c}"),
            None => format!("{vt} is null"),
        }
    }

    fn new_record(&self) -> bool {
        self.hard_deletes() == HardDeletes::NewRecord
    }

    fn handles_deletes(&self) -> bool {
        self.hard_deletes() != HardDeletes::Ignore
    }

    /// The first run's table: the query and its meta columns.
    pub fn build_table(&self, sql: &str) -> String {
        let c = &self.cfg.columns;
        let u = self.updated_at();
        let deleted = if self.new_record() { format!(", 'False' as {}", c.is_deleted) } else { String::new() };
        format!(
            "select *,\n    {} as {},\n    {u} as {},\n    {u} as {},\n    {}{deleted}\nfrom (\n{sql}\n) sbq",
            self.scd_id(),
            c.scd_id,
            c.updated_at,
            c.valid_from,
            self.valid_to_current()
        )
    }

    /// dbt's `row_changed`: the macro's, else the built-in strategy's;
    /// `check` gives the compared columns (quoted, those the table has) and
    /// whether the query has a column the table lacks.
    pub fn row_changed(&self, check: Option<(bool, &[String])>) -> String {
        if let Some(a) = self.answer {
            return a.row_changed.clone();
        }
        match (&self.cfg.strategy, check) {
            (Strategy::Timestamp { updated_at }, _) => {
                format!("(snapshotted_data.{} < source_data.{updated_at})", self.cfg.columns.valid_from)
            }
            (Strategy::Check { .. }, Some((true, _))) => "(TRUE)".to_string(),
            (Strategy::Check { .. }, Some((false, cols))) => {
                let each: Vec<String> = cols
                    .iter()
                    .map(|col| {
                        let (s, d) = (format!("snapshotted_data.{col}"), format!("source_data.{col}"));
                        format!(
                            "{s} != {d}\n        or\n        (\n            (({s} is null) and not ({d} is null))\n            or\n            ((not {s} is null) and ({d} is null))\n        )"
                        )
                    })
                    .collect();
                format!("({})", each.join(" or "))
            }
            (Strategy::Check { .. }, None) => "(FALSE)".to_string(),
            // Unreachable: a macro strategy always comes with its answer.
            (Strategy::Macro(_), _) => "(FALSE)".to_string(),
        }
    }

    /// dbt's `snapshot_staging_table`. `source_cols` and `target_cols` (the
    /// query's and the table's column names) are read only for `new_record`.
    pub fn staging(
        &self,
        sql: &str,
        target: &str,
        row_changed: &str,
        source_cols: &[String],
        target_cols: &[String],
    ) -> String {
        let c = &self.cfg.columns;
        let key = self.key();
        let u = self.updated_at();
        let t = SNAPSHOT_TIME;
        let deleted_again =
            if self.new_record() { format!(" or snapshotted_data.{} = 'True'", c.is_deleted) } else { String::new() };
        let keep_deleted =
            if self.new_record() { format!(", snapshotted_data.{}", c.is_deleted) } else { String::new() };
        let mut out = format!(
            "with snapshot_query as (\n\n{sql}\n\n),\n\n\
             snapshotted_data as (\n    select *, {keys}\n    from {target}\n    where {current}\n),\n\n\
             insertions_source_data as (\n    select *, {keys},\n        {u} as {ua},\n        {u} as {vf},\n        {vtc},\n        {scd} as {scd_col}\n    from snapshot_query\n),\n\n\
             updates_source_data as (\n    select *, {keys},\n        {u} as {ua},\n        {u} as {vf},\n        {u} as {vt}\n    from snapshot_query\n),\n",
            keys = key_fields(key),
            current = self.is_current("", true),
            ua = c.updated_at,
            vf = c.valid_from,
            vt = c.valid_to,
            vtc = self.valid_to_current(),
            scd = self.scd_id(),
            scd_col = c.scd_id,
        );
        if self.handles_deletes() {
            out.push_str(&format!(
                "\ndeletes_source_data as (\n    select *, {}\n    from snapshot_query\n),\n",
                key_fields(key)
            ));
        }
        let not_deleted_already = format!(
            "not (\n        snapshotted_data.{} = 'True'\n        and\n        {}\n    )",
            c.is_deleted,
            self.is_current("snapshotted_data.", false)
        );
        out.push_str(&format!(
            "\ninsertions as (\n    select\n        'insert' as dbt_change_type,\n        source_data.*{}\n    from insertions_source_data as source_data\n    left outer join snapshotted_data\n        on {}\n        where {}\n        or ({} and (\n           {row_changed}{deleted_again}\n        )\n    )\n),\n\n\
             updates as (\n    select\n        'update' as dbt_change_type,\n        source_data.*,\n        snapshotted_data.{}{keep_deleted}\n    from updates_source_data as source_data\n    join snapshotted_data\n        on {}\n    where (\n        {row_changed}{deleted_again}\n    )\n)",
            if self.new_record() { format!(",'False' as {}", c.is_deleted) } else { String::new() },
            join_on(key, "snapshotted_data", "source_data"),
            is_null(key, "snapshotted_data"),
            is_not_null(key, "snapshotted_data"),
            c.scd_id,
            join_on(key, "snapshotted_data", "source_data"),
        ));
        if self.handles_deletes() {
            out.push_str(&format!(
                ",\n\ndeletes as (\n    select\n        'delete' as dbt_change_type,\n        source_data.*,\n        {t} as {},\n        {t} as {},\n        {t} as {},\n        snapshotted_data.{}{keep_deleted}\n    from snapshotted_data\n    left join deletes_source_data as source_data\n        on {}\n        where {}{}\n)",
                c.valid_from,
                c.updated_at,
                c.valid_to,
                c.scd_id,
                join_on(key, "snapshotted_data", "source_data"),
                is_null(key, "source_data"),
                if self.new_record() { format!("\n        and {not_deleted_already}") } else { String::new() },
            ));
        }
        if self.new_record() {
            let cols: String = source_cols
                .iter()
                .map(|col| {
                    let from = if target_cols.contains(col) { "snapshotted_data" } else { "source_data" };
                    format!("\n        {from}.{},", quote(col))
                })
                .collect();
            let keys = match key {
                Key::One(_) => "\n        snapshotted_data.dbt_unique_key as dbt_unique_key,".to_string(),
                Key::Many(ks) => ks
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("\n        snapshotted_data.{k} as dbt_unique_key_{},", i + 1))
                    .collect(),
            };
            out.push_str(&format!(
                ",\n\ndeletion_records as (\n    select\n        'insert' as dbt_change_type,{cols}{keys}\n        {t} as {},\n        {t} as {},\n        snapshotted_data.{} as {},\n        {} as {},\n        'True' as {}\n    from snapshotted_data\n    left join deletes_source_data as source_data\n        on {}\n    where {}\n    and {not_deleted_already}\n)",
                c.valid_from,
                c.updated_at,
                c.valid_to,
                c.valid_to,
                hash(&[c.scd_id.clone(), t.to_string()]),
                c.scd_id,
                c.is_deleted,
                join_on(key, "snapshotted_data", "source_data"),
                is_null(key, "source_data"),
            ));
        }
        out.push_str("\n\nselect * from insertions\nunion all\nselect * from updates");
        if self.handles_deletes() {
            out.push_str("\nunion all\nselect * from deletes");
        }
        if self.new_record() {
            out.push_str("\nunion all\nselect * from deletion_records");
        }
        out
    }

    /// dbt-duckdb's `snapshot_merge_sql`: close the versions that changed or
    /// left, then insert the new ones. `insert_cols` are quoted.
    pub fn merge(&self, target: &str, staging: &str, insert_cols: &[String]) -> [String; 2] {
        let c = &self.cfg.columns;
        let current = match &self.cfg.valid_to_current {
            Some(cur) => {
                format!("(DBT_INTERNAL_TARGET.{vt} = {cur} or DBT_INTERNAL_TARGET.{vt} is null)", vt = c.valid_to)
            }
            None => format!("DBT_INTERNAL_TARGET.{} is null", c.valid_to),
        };
        let update = format!(
            "update {target} as DBT_INTERNAL_TARGET\nset {vt} = DBT_INTERNAL_SOURCE.{vt}\nfrom {staging} as DBT_INTERNAL_SOURCE\n\
             where DBT_INTERNAL_SOURCE.{scd}::text = DBT_INTERNAL_TARGET.{scd}::text\n  \
             and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)\n  and {current}",
            vt = c.valid_to,
            scd = c.scd_id,
        );
        let cols = insert_cols.join(", ");
        let select: Vec<String> = insert_cols.iter().map(|col| format!("DBT_INTERNAL_SOURCE.{col}")).collect();
        let insert = format!(
            "insert into {target} ({cols})\nselect {}\nfrom {staging} as DBT_INTERNAL_SOURCE\nwhere DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text",
            select.join(", ")
        );
        [update, insert]
    }
}

/// dbt's `snapshot_hash_arguments`.
fn hash(args: &[String]) -> String {
    let parts: Vec<String> = args.iter().map(|a| format!("coalesce(cast({a} as varchar ), '')")).collect();
    format!("md5({})", parts.join(" || '|' || "))
}

fn key_fields(key: &Key) -> String {
    match key {
        Key::One(k) => format!("{k} as dbt_unique_key"),
        Key::Many(ks) => ks
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} as dbt_unique_key_{}", i + 1))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn join_on(key: &Key, a: &str, b: &str) -> String {
    match key {
        Key::One(_) => format!("{a}.dbt_unique_key = {b}.dbt_unique_key"),
        Key::Many(ks) => (1..=ks.len())
            .map(|i| format!("({a}.dbt_unique_key_{i} = {b}.dbt_unique_key_{i})"))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

fn is_null(key: &Key, a: &str) -> String {
    match key {
        Key::One(_) => format!("{a}.dbt_unique_key is null"),
        Key::Many(_) => format!("{a}.dbt_unique_key_1 is null"),
    }
}

fn is_not_null(key: &Key, a: &str) -> String {
    match key {
        Key::One(_) => format!("{a}.dbt_unique_key is not null"),
        Key::Many(_) => format!("{a}.dbt_unique_key_1 is not null"),
    }
}

/// dbt's `valid_snapshot_target` and, for `new_record` (the strategy's),
/// its check of `dbt_is_deleted`: the names of the meta columns the table lacks.
pub(super) fn missing_meta_columns(cfg: &SnapshotConfig, hard: HardDeletes, target: &[Column]) -> Vec<String> {
    let names: Vec<String> = target.iter().map(|c| c.name.to_lowercase()).collect();
    let c = &cfg.columns;
    let mut missing: Vec<String> = [&c.scd_id, &c.valid_from, &c.valid_to]
        .into_iter()
        .filter(|n| !names.contains(&n.to_lowercase()))
        .cloned()
        .collect();
    if hard == HardDeletes::NewRecord && !names.contains(&c.is_deleted) {
        missing.push(c.is_deleted.clone());
    }
    missing
}

/// Takes snapshot `rel` of the rendered query `sql`, with the strategy
/// macro's `answer` when one was called. A `sql_header` runs in one string
/// with the `create` of the table (first run) or of the staging table (later
/// runs), as dbt-duckdb's `create_table_as` writes it.
pub(super) fn build(
    conn: &Connection,
    rel: &Relation,
    sql: &str,
    existing: Existing,
    (cfg, answer): (&SnapshotConfig, Option<&Answer>),
    docs: Option<&PersistDocs>,
    header: Option<&str>,
) -> Result<Execution, (duckdb::Error, Vec<String>)> {
    let q = Sql { cfg, answer };
    match existing {
        Existing::None => {
            let build = q.build_table(sql);
            // dbt-core 1.10 reads the first build's column types (its
            // `check_time_data_types`) before the header has run: a query
            // that needs what the header makes fails there, as it does in dbt.
            if header.is_some() {
                let describe = format!("describe (select * from (\n{build}\n) as __dbt_sbq\nwhere false\nlimit 0\n)");
                if let Err(e) = conn.prepare(&describe).and_then(|mut s| s.query([]).map(drop)) {
                    return if super::is_conflict(&e) {
                        Err((e, vec![describe]))
                    } else {
                        Ok(error(e.to_string(), vec![describe], 1))
                    };
                }
            }
            let stmts = vec![super::with_header(header, format!("create table {rel} as (\n{build}\n)"))];
            return Ok(built(super::build_with_docs(conn, stmts, rel, "table", docs)?));
        }
        Existing::View => {
            let message = format!(
                "Trying to create table {}, but it currently exists as a view. Either drop {} manually, or rename the snapshot",
                rel.short(),
                rel.short()
            );
            return Ok(error(message, Vec::new(), 1));
        }
        Existing::Table => {}
    }
    let mut tx = Tx::begin(conn).map_err(|e| (e, Vec::new()))?;
    let taken = take(&mut tx, &q, rel, sql, header).and_then(|r| match (r, docs) {
        (Ok(()), Some(d)) => super::docs::comment(&mut tx, rel, "table", d).map(Ok),
        (r, _) => Ok(r),
    });
    match taken {
        Ok(Ok(())) => {
            let sql = tx.sql.clone();
            tx.commit().map(built).map_err(|e| (e, sql))
        }
        Ok(Err(message)) => Ok(error(message, std::mem::take(&mut tx.sql), 1)),
        Err(e) if is_conflict(&e) => Err((e, std::mem::take(&mut tx.sql))),
        Err(e) => Ok(error(e.to_string(), std::mem::take(&mut tx.sql), 1)),
    }
}

/// A later run, inside `tx`; `Ok(Err(_))` is a target dbt refuses.
fn take(
    tx: &mut Tx<'_>,
    q: &Sql<'_>,
    rel: &Relation,
    sql: &str,
    header: Option<&str>,
) -> Result<Result<(), String>, duckdb::Error> {
    let cfg = q.cfg;
    let target = tx.columns(&rel.database, &rel.schema, &rel.identifier)?;
    let missing = missing_meta_columns(cfg, q.hard_deletes(), &target);
    if !missing.is_empty() {
        return Ok(Err(format!(
            "Snapshot target is missing configured columns (missing \"{}\"). See https://docs.getdbt.com/docs/build/snapshots#snapshot-meta-fields for more information.",
            missing.join("\", \"")
        )));
    }
    let target_names: Vec<String> = target.iter().map(|c| c.name.clone()).collect();
    let check = match &cfg.strategy {
        _ if q.answer.is_some() => None,
        Strategy::Timestamp { .. } | Strategy::Macro(_) => None,
        Strategy::Check { cols, .. } => {
            let query = match cols {
                CheckCols::All => sql.to_string(),
                CheckCols::List(list) => format!("select {} from (\n{sql}\n) subq", list.join(", ")),
            };
            let asked = tx.query_columns(&query)?;
            let added = asked.iter().any(|c| !target_names.contains(&c.name));
            let kept: Vec<String> =
                asked.iter().filter(|c| target_names.contains(&c.name)).map(|c| quote(&c.name)).collect();
            Some((added, kept))
        }
    };
    let source_cols: Vec<String> =
        if q.new_record() { tx.query_columns(sql)?.into_iter().map(|c| c.name).collect() } else { Vec::new() };
    let row_changed = q.row_changed(check.as_ref().map(|(a, k)| (*a, k.as_slice())));
    let staging_name = format!("{}__dbt_tmp", rel.identifier);
    // A temporary table belongs to this connection, so workers never collide.
    let staging = format!("\"temp\".\"main\".{}", quote(&staging_name));
    let select = q.staging(sql, &rel.to_string(), &row_changed, &source_cols, &target_names);
    let stage = format!("create or replace temporary table {} as (\n{select}\n)", quote(&staging_name));
    tx.exec(super::with_header(header, stage))?;
    let staged = tx.columns("temp", "main", &staging_name)?;
    let keys = q.numbered_keys();
    for c in staged.iter().filter(|c| !is_helper(&c.name, keys) && !target_names.contains(&c.name)) {
        tx.exec(format!("alter table {rel} add column {} {}", quote(&c.name), c.data_type))?;
    }
    let insert_cols: Vec<String> =
        staged.iter().filter(|c| !is_helper(&c.name, keys)).map(|c| quote(&c.name)).collect();
    for stmt in q.merge(&rel.to_string(), &staging, &insert_cols) {
        tx.exec(stmt)?;
    }
    tx.exec(format!("drop table {staging}"))?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests;
