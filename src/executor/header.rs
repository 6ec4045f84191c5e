//! Where a node's `sql_header` goes into the statements that build it:
//! before the statement that creates the relation, in one string with it,
//! as dbt-duckdb's `create_table_as` / `create_view_as` write it (so it
//! runs on the same connection, in the same transaction, right before).
//! Which statements get it is each materialization's; the header's value is
//! [`crate::nodes::header`]'s.

use crate::nodes::Node;

/// The node's `sql_header` (typed while planning).
pub(super) fn header_of(node: &Node) -> Option<String> {
    node.build.sql_header.clone()
}

/// `stmt` with the header before it, in one string, as dbt-duckdb's
/// `create_table_as` / `create_view_as` write it.
pub(super) fn with_header(header: Option<&str>, stmt: String) -> String {
    match header {
        Some(h) => format!("{h}\n{stmt}"),
        None => stmt,
    }
}

/// `stmts` with the header before the first.
pub(super) fn headed(header: Option<&str>, mut stmts: Vec<String>) -> Vec<String> {
    if let Some(first) = stmts.first_mut() {
        *first = with_header(header, std::mem::take(first));
    }
    stmts
}
