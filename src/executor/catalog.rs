//! Which relations the database holds, asked once per relation per run.
//!
//! Each relation is looked up by name in its own catalog (`RawConn::relation_kind`),
//! never by listing: `information_schema.tables` renders every view's SQL
//! (probing per node made a run quadratic in the number of models), and any
//! listing makes DuckDB create its system catalog's default views on first
//! use (10-20 ms, paid by every run). A run holds the write lock, so only its
//! own builds change what exists: an answer is kept, and each build records
//! what it left. A build that fails forgets every answer, so the next lookup
//! asks the database again rather than trusting a guess. Names compare
//! case-insensitively, as DuckDB's catalog does. Owns those lookups and
//! nothing else; it never builds or drops anything.

use super::Existing;
use crate::db::raw::{RawConn, RelationKind};
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::sync::Mutex;

type Key = (String, String, String);

fn key(rel: &Relation) -> Key {
    (rel.database.to_lowercase(), rel.schema.to_lowercase(), rel.identifier.to_lowercase())
}

/// What the run knows exists, by lowercase (database, schema, name); shared
/// by every worker of a run.
#[derive(Debug, Default)]
pub struct Catalog {
    known: Mutex<BTreeMap<Key, Existing>>,
}

impl Catalog {
    /// What exists at `rel`: known from an earlier answer or build, else asked of the database.
    pub fn lookup(&self, conn: &RawConn, rel: &Relation) -> Result<Existing, duckdb::Error> {
        let k = key(rel);
        if let Some(known) = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(&k) {
            return Ok(*known);
        }
        let now = match conn.relation_kind(&rel.database, &rel.schema, &rel.identifier)? {
            None => Existing::None,
            Some(RelationKind::View) => Existing::View,
            Some(RelationKind::Table) => Existing::Table,
        };
        self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(k, now);
        Ok(now)
    }

    /// A build committed: `rel` is now a table or a view.
    pub fn record(&self, rel: &Relation, now: Existing) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(key(rel), now);
    }

    /// A build failed part-way or did something unforeseen: ask the database next time.
    pub fn forget(&self) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str) -> Relation {
        Relation::new("memory", "main", name)
    }

    /// An in-memory database, a connection to set it up, and the reader lookups use.
    fn database() -> (crate::db::raw::Instance, duckdb::Connection, RawConn) {
        let (db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let reader = db.connect().expect("reader");
        (db, conn, reader)
    }

    #[test]
    fn asks_once_per_relation_then_trusts_recorded_builds() {
        let (_db, conn, reader) = database();
        conn.execute_batch("create table t as select 1 as x; create view v as select 2 as y").expect("setup");
        let c = Catalog::default();
        assert_eq!(c.lookup(&reader, &rel("t")).expect("lookup"), Existing::Table);
        assert_eq!(c.lookup(&reader, &rel("V")).expect("case-insensitive"), Existing::View);
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::None);
        // Created behind the run's back: the earlier answer stands until recorded or forgotten.
        conn.execute_batch("create table new as select 3 as z").expect("create");
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::None);
        c.record(&rel("new"), Existing::Table);
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::Table);
        conn.execute_batch("drop view v").expect("drop");
        c.forget();
        assert_eq!(c.lookup(&reader, &rel("v")).expect("re-read"), Existing::None);
    }

    #[test]
    fn a_missing_schema_or_database_holds_nothing() {
        let (_db, _conn, reader) = database();
        let c = Catalog::default();
        let in_schema = Relation::new("memory", "nowhere", "t");
        assert_eq!(c.lookup(&reader, &in_schema).expect("lookup"), Existing::None);
        let in_db = Relation::new("no_such_db", "main", "t");
        assert_eq!(c.lookup(&reader, &in_db).expect("lookup"), Existing::None);
    }

    #[test]
    fn looks_in_the_relations_own_database_only() {
        let (_db, conn, reader) = database();
        conn.execute_batch("attach ':memory:' as other; create table other.main.t as select 1 as x").expect("setup");
        let c = Catalog::default();
        assert_eq!(c.lookup(&reader, &rel("t")).expect("lookup"), Existing::None);
        assert_eq!(c.lookup(&reader, &Relation::new("other", "main", "t")).expect("lookup"), Existing::Table);
        // A name DuckDB's system catalog holds as a default view is not the warehouse's.
        assert_eq!(c.lookup(&reader, &rel("duckdb_tables")).expect("lookup"), Existing::None);
    }
}
