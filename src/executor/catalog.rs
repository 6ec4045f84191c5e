//! Which relations the database holds, read once per run instead of once per
//! node.
//!
//! Asking `information_schema.tables` about one relation makes DuckDB list
//! the whole catalog (rendering every view's SQL on the way), so probing per
//! node made a run quadratic in the number of models. A run holds the write
//! lock, so only its own builds change what exists: the first lookup reads
//! every table and view in one query, and each build records what it left.
//! A build that fails forgets the snapshot, so the next lookup reads the
//! database again rather than trusting a guess. Names compare
//! case-insensitively, as DuckDB's catalog does. Owns that one query and
//! nothing else; it never builds or drops anything.

use super::Existing;
use crate::db::raw::RawConn;
use crate::template::relation::Relation;
use std::collections::BTreeMap;
use std::sync::Mutex;

type Key = (String, String, String);

fn key(rel: &Relation) -> Key {
    (rel.database.to_lowercase(), rel.schema.to_lowercase(), rel.identifier.to_lowercase())
}

/// Every table and view, by lowercase (database, schema, name).
const SNAPSHOT: &str = "select database_name, schema_name, table_name, false from duckdb_tables() \
     union all select database_name, schema_name, view_name, true from duckdb_views() where not internal";

/// The relations of the run's database; shared by every worker of a run.
#[derive(Debug, Default)]
pub struct Catalog {
    known: Mutex<Option<BTreeMap<Key, Existing>>>,
}

impl Catalog {
    /// What exists at `rel`. The first call (and the first after [`Catalog::forget`])
    /// reads the database; the lock is held while it does, so a build recorded
    /// meanwhile lands after the snapshot rather than under it.
    pub fn lookup(&self, conn: &RawConn, rel: &Relation) -> Result<Existing, duckdb::Error> {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.is_none() {
            *known = Some(snapshot(conn)?);
        }
        Ok(known.as_ref().and_then(|k| k.get(&key(rel)).copied()).unwrap_or(Existing::None))
    }

    /// A build committed: `rel` is now a table or a view.
    pub fn record(&self, rel: &Relation, now: Existing) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = known.as_mut() {
            k.insert(key(rel), now);
        }
    }

    /// A build failed part-way or did something unforeseen: read the database next time.
    pub fn forget(&self) {
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn snapshot(conn: &RawConn) -> Result<BTreeMap<Key, Existing>, duckdb::Error> {
    let text = |v: &Option<String>| v.as_deref().unwrap_or_default().to_lowercase();
    let mut out = BTreeMap::new();
    for row in conn.query(SNAPSHOT)? {
        if let [db, schema, name, is_view] = row.as_slice() {
            let now = if is_view.as_deref() == Some("true") { Existing::View } else { Existing::Table };
            out.insert((text(db), text(schema), text(name)), now);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str) -> Relation {
        Relation::new("memory", "main", name)
    }

    #[test]
    fn reads_tables_and_views_once_then_trusts_recorded_builds() {
        let (db, conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let reader = db.connect().expect("reader");
        conn.execute_batch("create table t as select 1 as x; create view v as select 2 as y").expect("setup");
        let c = Catalog::default();
        assert_eq!(c.lookup(&reader, &rel("t")).expect("lookup"), Existing::Table);
        assert_eq!(c.lookup(&reader, &rel("V")).expect("case-insensitive"), Existing::View);
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::None);
        // Created behind the snapshot's back: not seen until recorded or forgotten.
        conn.execute_batch("create table new as select 3 as z").expect("create");
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::None);
        c.record(&rel("new"), Existing::Table);
        assert_eq!(c.lookup(&reader, &rel("new")).expect("lookup"), Existing::Table);
        conn.execute_batch("drop view v").expect("drop");
        c.forget();
        assert_eq!(c.lookup(&reader, &rel("v")).expect("re-read"), Existing::None);
    }

    #[test]
    fn a_record_before_any_lookup_is_left_to_the_snapshot() {
        let (db, _conn) = crate::db::raw::Instance::open(None, false).expect("db");
        let reader = db.connect().expect("reader");
        let c = Catalog::default();
        c.record(&rel("ghost"), Existing::Table);
        assert_eq!(c.lookup(&reader, &rel("ghost")).expect("lookup"), Existing::None);
    }
}
