//! `persist_docs` when a seed, model or snapshot is built, as dbt-duckdb
//! 1.9 writes it: `comment on table|view <relation> is <description>` and
//! `comment on column <relation>.<column> is <description>` for each
//! documented column the relation has (its name matched exactly; an empty
//! description writes an empty comment), every text dollar-quoted with
//! dbt's tag. Documented columns the relation lacks are one warning, as
//! dbt's `validate_doc_columns` gives. Runs inside the build's transaction,
//! so a comment that fails rolls the build back; owns only these statements.

use super::tx::{quote, Tx};
use crate::nodes::contract::{PersistDocs, COMMENT_TAG};
use crate::template::relation::Relation;

fn literal(text: &str) -> String {
    format!("{COMMENT_TAG}{text}{COMMENT_TAG}")
}

/// Writes the comments of `docs` on `rel`, a `table` or a `view` (`kind`).
pub(super) fn comment(tx: &mut Tx<'_>, rel: &Relation, kind: &str, docs: &PersistDocs) -> Result<(), duckdb::Error> {
    if let Some(text) = &docs.relation {
        tx.exec(format!("comment on {kind} {rel} is {}", literal(text)))?;
    }
    if docs.columns.is_empty() {
        return Ok(());
    }
    let existing: Vec<String> =
        tx.columns(&rel.database, &rel.schema, &rel.identifier)?.into_iter().map(|c| c.name).collect();
    let lower: Vec<String> = existing.iter().map(|c| c.to_lowercase()).collect();
    let missing: Vec<&str> = docs
        .columns
        .iter()
        .filter(|c| match c.quote {
            true => !existing.contains(&c.name),
            false => !lower.contains(&c.name.to_lowercase()),
        })
        .map(|c| c.name.as_str())
        .collect();
    if !missing.is_empty() {
        crate::template::context::print_log(&format!(
            "[WARNING]: In relation {rel}: The following columns are specified in the schema but are not present in the database: {}",
            missing.join(", ")
        ));
    }
    for c in docs.columns.iter().filter(|c| existing.contains(&c.name)) {
        let name = if c.quote { quote(&c.name) } else { c.name.clone() };
        tx.exec(format!("comment on column {rel}.{name} is {}", literal(&c.description)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::contract::DocColumn;
    use duckdb::Connection;

    fn doc(name: &str, quote: bool, description: &str) -> DocColumn {
        DocColumn { name: name.into(), quote, description: description.into() }
    }

    #[test]
    fn comments_land_on_the_relation_and_its_columns() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("attach ':memory:' as db; create table db.main.t (id int, \"Name\" text, other int)")
            .expect("t");
        let rel = Relation::new("db", "main", "t");
        let docs = PersistDocs {
            relation: Some("it's the table".into()),
            columns: vec![
                doc("id", false, "the key"),
                doc("Name", true, ""),
                doc("OTHER", false, "x"),
                doc("gone", false, ""),
            ],
        };
        let mut tx = Tx::begin(&conn).expect("begin");
        comment(&mut tx, &rel, "table", &docs).expect("comments");
        assert_eq!(tx.sql.len(), 3, "{:?}", tx.sql);
        tx.commit().expect("commit");
        let mut stmt = conn.prepare("select comment from duckdb_tables() where table_name = 't'").expect("q");
        let table: String = stmt.query_row([], |r| r.get(0)).expect("row");
        assert_eq!(table, "it's the table");
        let mut stmt = conn
            .prepare("select column_name, comment from duckdb_columns() where table_name = 't' order by column_index")
            .expect("q");
        let cols: Vec<(String, Option<String>)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("q").map(|r| r.expect("row")).collect();
        // `OTHER` matches `other` for the warning, not for the comment: dbt-duckdb compares exactly.
        assert_eq!(
            cols,
            vec![("id".into(), Some("the key".into())), ("Name".into(), Some(String::new())), ("other".into(), None)]
        );
    }
}
