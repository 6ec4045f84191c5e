//! One transaction on a worker's connection whose statements are kept for
//! logs and artifacts, and the column lookups the incremental and snapshot
//! materializations make inside it. Owns only beginning, committing and
//! rolling back; what runs inside is the materialization's.

use duckdb::Connection;

/// A column as DuckDB's `information_schema` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: String,
    pub data_type: String,
}

pub(super) fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One transaction whose statements are kept for logs and artifacts. Dropped
/// before `commit`, it rolls back. Begun inside a transaction already open
/// (a node with hooks), it joins it: that one's owner commits or rolls back.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
    pub(super) sql: Vec<String>,
    /// Begun here, and not yet committed: only then is it ours to end.
    open: bool,
}

impl<'c> Tx<'c> {
    pub(super) fn begin(conn: &'c Connection) -> Result<Tx<'c>, duckdb::Error> {
        let own = !super::in_node_transaction();
        if own {
            conn.execute_batch("BEGIN TRANSACTION")?;
        }
        Ok(Tx { conn, sql: Vec::new(), open: own })
    }

    pub(super) fn exec(&mut self, stmt: String) -> Result<(), duckdb::Error> {
        self.sql.push(stmt);
        self.conn.execute_batch(self.sql.last().map_or("", String::as_str))
    }

    /// A `count(*)` query, kept with the statements as dbt logs its own.
    pub(super) fn count(&mut self, sql: String) -> Result<u64, duckdb::Error> {
        self.sql.push(sql);
        let n: i64 = self.conn.query_row(self.sql.last().map_or("", String::as_str), [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    pub(super) fn columns(&self, catalog: &str, schema: &str, table: &str) -> Result<Vec<Column>, duckdb::Error> {
        let mut stmt = self.conn.prepare(
            // Case-insensitive, as DuckDB resolves names (and as the run's catalog compares them).
            "select column_name, data_type from information_schema.columns \
             where lower(table_catalog) = lower(?) and lower(table_schema) = lower(?) \
             and lower(table_name) = lower(?) order by ordinal_position",
        )?;
        let rows =
            stmt.query_map([catalog, schema, table], |r| Ok(Column { name: r.get(0)?, data_type: r.get(1)? }))?;
        rows.collect()
    }

    /// The columns `sql` returns, found by binding it (`describe`), not running it.
    pub(super) fn query_columns(&self, sql: &str) -> Result<Vec<Column>, duckdb::Error> {
        let mut stmt = self.conn.prepare(&format!("describe select * from (\n{sql}\n) as dbt_query"))?;
        let rows = stmt.query_map([], |r| Ok(Column { name: r.get(0)?, data_type: r.get(1)? }))?;
        rows.collect()
    }

    pub(super) fn commit(mut self) -> Result<Vec<String>, duckdb::Error> {
        if !std::mem::replace(&mut self.open, false) {
            return Ok(std::mem::take(&mut self.sql));
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(std::mem::take(&mut self.sql))
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
