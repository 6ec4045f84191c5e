//! Runner's own catalog reads in a render (`adapter.get_columns_in_relation`:
//! a text with `?` parameters), answered once per worker while the run has
//! the database file open read-only.
//!
//! Why it is safe: a read-only instance writes nothing, and DuckDB's file
//! lock keeps every other process from writing the file while it is open, so
//! what the file's own catalog holds cannot change during the run. Only
//! relations of that catalog are kept (an attached database may be another
//! system's, changing under the run); and anything the node's Jinja runs
//! itself (`run_query`, `statement`) forgets them all, as it may create temporary
//! relations or attach databases under the same names. Why it matters: a
//! `runner test` asks the same relations' columns again and again (dbt-utils'
//! suite: 78 reads of 43 relations), each a DuckDB statement. Owns only this
//! memo; it runs nothing itself.

use crate::template::query::QueryTable;
use std::cell::RefCell;
use std::collections::HashMap;

/// One worker's kept answers; see the module's text.
#[derive(Debug, Default)]
pub(crate) struct KeptReads {
    /// `"<catalog>".`, the start of a kept relation's quoted name; `None`
    /// when the file is open for writing (nothing is kept then).
    prefix: Option<String>,
    kept: RefCell<HashMap<(String, Vec<String>), QueryTable>>,
}

impl KeptReads {
    /// Keeps reads of `catalog`'s relations when the database is open read-only.
    pub(crate) fn new(read_only: bool, catalog: &str) -> KeptReads {
        let prefix = read_only.then(|| format!("\"{}\".", catalog.replace('"', "\"\"")));
        KeptReads { prefix, kept: RefCell::default() }
    }

    /// The answer to `sql` with `params`: kept, or from `run` (and kept when
    /// it is a read of the file's own catalog that succeeded).
    pub(crate) fn answer(
        &self,
        sql: &str,
        params: &[&str],
        run: impl FnOnce() -> Result<QueryTable, String>,
    ) -> Result<QueryTable, String> {
        let keep = match (&self.prefix, params) {
            (Some(prefix), [name, ..]) => name.starts_with(prefix.as_str()),
            _ => false,
        };
        if !keep {
            return run();
        }
        let key = (sql.to_string(), params.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        if let Some(t) = self.kept.borrow().get(&key) {
            return Ok(t.clone());
        }
        let t = run()?;
        self.kept.borrow_mut().insert(key, t.clone());
        Ok(t)
    }

    /// The node's own SQL ran (`run_query`, `statement`): it may have changed
    /// what a name means.
    pub(crate) fn forget(&self) {
        self.kept.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn table(n: usize) -> QueryTable {
        QueryTable { columns: vec!["n".into()], rows: vec![vec![minijinja::Value::from(n)]] }
    }

    /// Answers `sql` for `name`, counting how often the database was asked.
    fn ask(k: &KeptReads, name: &str, asked: &Cell<usize>) -> QueryTable {
        k.answer("select ?", &[name], || {
            asked.set(asked.get() + 1);
            Ok(table(asked.get()))
        })
        .expect("answers")
    }

    #[test]
    fn a_read_only_files_relations_are_read_once_until_the_nodes_own_sql_runs() {
        let k = KeptReads::new(true, "utils");
        let asked = Cell::new(0);
        assert_eq!(ask(&k, "\"utils\".\"main\".\"a\"", &asked), table(1));
        assert_eq!(ask(&k, "\"utils\".\"main\".\"a\"", &asked), table(1), "kept");
        assert_eq!(ask(&k, "\"utils\".\"main\".\"b\"", &asked), table(2), "another relation is read");
        k.forget();
        assert_eq!(ask(&k, "\"utils\".\"main\".\"a\"", &asked), table(3), "read again after the node's own SQL");
    }

    #[test]
    fn nothing_is_kept_for_a_writable_file_another_catalog_or_a_failed_read() {
        let asked = Cell::new(0);
        let writable = KeptReads::new(false, "utils");
        ask(&writable, "\"utils\".\"main\".\"a\"", &asked);
        ask(&writable, "\"utils\".\"main\".\"a\"", &asked);
        assert_eq!(asked.get(), 2);
        let k = KeptReads::new(true, "utils");
        ask(&k, "\"pg\".\"public\".\"a\"", &asked);
        ask(&k, "\"pg\".\"public\".\"a\"", &asked);
        ask(&k, "\"temp\".\"main\".\"a\"", &asked);
        ask(&k, "\"temp\".\"main\".\"a\"", &asked);
        assert_eq!(asked.get(), 6, "attached and temporary relations are read each time");
        let failed = k.answer("select ?", &["\"utils\".\"main\".\"gone\""], || Err("missing".into()));
        assert!(failed.is_err());
        ask(&k, "\"utils\".\"main\".\"gone\"", &asked);
        assert_eq!(asked.get(), 7, "a failure is not kept");
        // Text without parameters is the node's own SQL: never kept.
        let own = |n| k.answer("select 1", &[], || Ok(table(n))).expect("runs");
        assert_eq!((own(8), own(9)), (table(8), table(9)));
    }
}
