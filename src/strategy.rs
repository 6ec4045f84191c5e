//! An incremental model's settings ([`Incremental`]: strategy, `unique_key`,
//! `on_schema_change`, …) and the statements of the built-in incremental
//! strategies, as dbt-duckdb 1.9 writes them (`delete+insert`, `append`) and
//! as dbt-core's default `merge` writes it: pure text from the settings, the
//! target, the new rows' table and the columns to write. The incremental
//! materialization (`executor::incremental`) runs them; the built-in macros a
//! project's own strategy may call (`get_incremental_merge_sql(arg_dict)`,
//! `get_merge_sql(…)`, …) render the same text through [`for_macro`]
//! (`template::strategies`). No I/O, and it imports nothing of the crate:
//! reading the settings from a model's config is `nodes::materialize`'s.

/// How new rows reach an existing incremental table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// dbt-duckdb's default: delete target rows matching a new row's key, then insert.
    DeleteInsert,
    Append,
    /// `MERGE INTO`: update matching rows, insert the others.
    Merge,
    /// Any other name: the project's (or a package's) `get_incremental_<name>_sql`
    /// macro writes the statement, looked up when the incremental path runs, as dbt does.
    Custom(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSchemaChange {
    Ignore,
    AppendNewColumns,
    SyncAllColumns,
    Fail,
}

/// `unique_key`: dbt treats a string as one SQL expression and a list as
/// columns compared one by one; the two render differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueKey {
    None,
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incremental {
    pub strategy: Strategy,
    pub unique_key: UniqueKey,
    pub on_schema_change: OnSchemaChange,
    pub merge_update_columns: Option<Vec<String>>,
    pub merge_exclude_columns: Option<Vec<String>>,
    /// SQL conditions the `delete` or `merge` adds (dbt's `incremental_predicates`).
    pub predicates: Option<Vec<String>>,
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quoted_csv(cols: &[String]) -> String {
    cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

/// The strategy's statements, writing columns `dest` from `tmp` into `target`.
/// `incremental_predicates` are added as dbt-duckdb adds them: after the key
/// match of the `delete`, each as `and <predicate>` (inside the `where (…)`
/// for a list key, after it for a string key; with no key there is no
/// `delete`, and they are not used), and into the `merge`'s `on`.
pub(crate) fn strategy_sql(cfg: &Incremental, target: &str, tmp: &str, dest: &[String]) -> Vec<String> {
    let cols = quoted_csv(dest);
    let insert = format!("insert into {target} ({cols})\n(\n    select {cols}\n    from {tmp}\n)");
    let and_predicates: String = cfg.predicates.iter().flatten().map(|p| format!("\n    and {p}")).collect();
    match (&cfg.strategy, &cfg.unique_key) {
        (Strategy::Append | Strategy::Custom(_), _) | (Strategy::DeleteInsert, UniqueKey::None) => vec![insert],
        // A string key is one SQL expression, as in dbt-duckdb.
        (Strategy::DeleteInsert, UniqueKey::One(key)) => vec![
            format!("delete from {target}\nwhere ({key}) in (\n    select ({key})\n    from {tmp}\n){and_predicates}"),
            insert,
        ],
        (Strategy::DeleteInsert, UniqueKey::Many(keys)) => {
            let on: Vec<String> = keys.iter().map(|k| format!("{tmp}.{k} = DBT_INCREMENTAL_TARGET.{k}")).collect();
            vec![
                format!(
                    "delete from {target} as DBT_INCREMENTAL_TARGET\nusing {tmp}\nwhere ({}{and_predicates}\n)",
                    on.join("\n    and ")
                ),
                insert,
            ]
        }
        (Strategy::Merge, key) => vec![merge_sql(cfg, key, target, tmp, dest)],
    }
}

/// dbt's default `merge`: update the rows whose key matches, insert the rest;
/// without a key nothing matches and every row is inserted. The `on` is every
/// incremental predicate, then the key's match(es), each in parentheses.
fn merge_sql(cfg: &Incremental, key: &UniqueKey, target: &str, tmp: &str, dest: &[String]) -> String {
    let mut on: Vec<String> = cfg.predicates.iter().flatten().cloned().collect();
    match key {
        UniqueKey::None => on.push("FALSE".to_string()),
        UniqueKey::One(k) => on.push(format!("DBT_INTERNAL_SOURCE.{k} = DBT_INTERNAL_DEST.{k}")),
        UniqueKey::Many(keys) => {
            on.extend(keys.iter().map(|k| format!("DBT_INTERNAL_SOURCE.{k} = DBT_INTERNAL_DEST.{k}")))
        }
    }
    let on = format!("({})", on.join(") and ("));
    let mut out = format!("merge into {target} as DBT_INTERNAL_DEST\nusing {tmp} as DBT_INTERNAL_SOURCE\non {on}\n");
    if *key != UniqueKey::None {
        let update: Vec<String> = match (&cfg.merge_update_columns, &cfg.merge_exclude_columns) {
            // Listed columns are used as written, as dbt does.
            (Some(cols), _) => cols.clone(),
            (None, Some(skip)) => {
                let skip: Vec<String> = skip.iter().map(|s| s.to_lowercase()).collect();
                dest.iter().filter(|c| !skip.contains(&c.to_lowercase())).map(|c| quote(c)).collect()
            }
            (None, None) => dest.iter().map(|c| quote(c)).collect(),
        };
        let sets: Vec<String> = update.iter().map(|c| format!("{c} = DBT_INTERNAL_SOURCE.{c}")).collect();
        out.push_str(&format!("when matched then update set {}\n", sets.join(", ")));
    }
    let cols = quoted_csv(dest);
    out.push_str(&format!("when not matched then insert ({cols}) values ({cols})"));
    out
}

/// What a built-in strategy macro was called with, as text: the relations
/// rendered, the key as written, the columns' names.
pub(crate) struct MacroArgs {
    pub target: String,
    pub source: String,
    pub unique_key: UniqueKey,
    pub dest: Vec<String>,
    pub predicates: Option<Vec<String>>,
    pub merge_update_columns: Option<Vec<String>>,
    pub merge_exclude_columns: Option<Vec<String>>,
    /// Written before a `merge`, as dbt's `get_merge_sql` writes it.
    pub sql_header: Option<String>,
}

/// The statement(s) of built-in strategy `strategy` (`append`,
/// `delete+insert` or `merge`) for a macro: one text, statements separated
/// by `;`, as dbt's macros return them; `None` for another name.
pub(crate) fn for_macro(strategy: &str, a: MacroArgs) -> Option<String> {
    let strategy = match strategy {
        "append" => Strategy::Append,
        "delete+insert" => Strategy::DeleteInsert,
        "merge" => Strategy::Merge,
        _ => return None,
    };
    let merge = strategy == Strategy::Merge;
    let cfg = Incremental {
        strategy,
        unique_key: a.unique_key,
        on_schema_change: OnSchemaChange::Ignore,
        merge_update_columns: a.merge_update_columns,
        merge_exclude_columns: a.merge_exclude_columns,
        predicates: a.predicates,
    };
    let sql = strategy_sql(&cfg, &a.target, &a.source, &a.dest).join(";\n");
    Some(match a.sql_header.filter(|h| merge && !h.trim().is_empty()) {
        Some(h) => format!("{h}\n{sql}"),
        None => sql,
    })
}

#[cfg(test)]
mod tests;
