//! dbt's ephemeral models: CTEs injected into the queries that use them.
//!
//! An ephemeral model is never built. `ref()` to it renders its CTE name
//! (`__dbt__cte__<alias>`, see [`Relation::cte`]); after the render pass the
//! CTE names a query mentions are rendered (and the ephemerals *they* mention,
//! depth first, each once) and put in front: `with __dbt__cte__a as (…), …`,
//! joining the query's own `with` when it has one, as dbt does. A generic
//! test's SQL ([`TestSql`], planned by `nodes`) gets them the same way. This
//! module decides nothing about what runs and never touches the database.

use super::relation::{Relation, CTE_PREFIX};
use super::{Relations, RenderCtx, Templates};
use crate::diag::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How a generic test gets its failing-rows SQL (the plan holds one per
/// generic test node; [`Templates::test_sql`] renders it).
#[derive(Debug, Clone, PartialEq)]
pub enum TestSql {
    /// dbt's `not_null`, `unique`, `accepted_values`, `relationships`.
    Ready(String),
    /// A `test_<name>` macro call (`dbt_utils.test_equality(model=…)`),
    /// rendered at run time with `this` the tested relation, as dbt compiles
    /// a test right before it runs; `package` is the test's own (whose
    /// macros, vars, refs and sources come first), `None` the root project.
    Call { call: String, this: Relation, package: Option<String> },
}

impl Templates {
    /// The render pass plus ephemeral CTEs: the SQL a node runs, without a trailing `;`.
    pub fn render_sql(&self, template: &str, rc: &RenderCtx) -> Result<String, Diagnostic> {
        let sql = self.render(template, rc)?;
        self.inject_ctes(trim_sql(&sql), &rc.relations)
    }

    /// A generic test's failing-rows SQL: rendered now if it is a macro call
    /// (with the caller's `run_query` connection), with ephemeral CTEs.
    pub fn test_sql(
        &self,
        sql: &TestSql,
        relations: &Arc<Relations>,
        config: &crate::config_tree::ConfigMap,
    ) -> Result<String, Diagnostic> {
        match sql {
            TestSql::Ready(sql) => self.inject_ctes(sql, relations),
            TestSql::Call { call, this, package } => {
                let config = Arc::new(config.clone());
                let (sql, _) = self
                    .eval_with_config(call, this, Some(relations), config, package.as_deref())
                    .map_err(Diagnostic::new)?;
                self.inject_ctes(&sql, relations)
            }
        }
    }

    /// Prepends the CTE of every ephemeral model that `sql` mentions.
    pub fn inject_ctes(&self, sql: &str, relations: &Arc<Relations>) -> Result<String, Diagnostic> {
        let mut ctes = Vec::new();
        let mut visiting = BTreeSet::new();
        for name in mentioned(sql, &relations.ephemerals) {
            self.collect_cte(&name, relations, &mut ctes, &mut visiting)?;
        }
        Ok(prepend(sql, &ctes))
    }

    /// Renders ephemeral `name` after the ephemerals it mentions (post-order).
    fn collect_cte(
        &self,
        name: &str,
        relations: &Arc<Relations>,
        ctes: &mut Vec<(String, String)>,
        visiting: &mut BTreeSet<String>,
    ) -> Result<(), Diagnostic> {
        // `visiting` also stops a loop; the planner rejects those before a run.
        if !visiting.insert(name.to_string()) {
            return Ok(());
        }
        let Some(template) = relations.ephemerals.get(name) else { return Ok(()) };
        let this = Relation::cte(name.strip_prefix(CTE_PREFIX).unwrap_or(name));
        let rc = RenderCtx {
            this,
            relations: relations.clone(),
            is_incremental: false,
            config: Default::default(),
            package: None,
            node: None,
        };
        let body = trim_sql(&self.render(template, &rc)?).to_string();
        for dep in mentioned(&body, &relations.ephemerals) {
            self.collect_cte(&dep, relations, ctes, visiting)?;
        }
        ctes.push((name.to_string(), body));
        Ok(())
    }
}

/// `sql` without trailing whitespace and `;`, so it can be wrapped in `( … )`.
pub fn trim_sql(sql: &str) -> &str {
    sql.trim_end().trim_end_matches(';').trim_end()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The known CTE names `sql` mentions, in order of first mention.
fn mentioned(sql: &str, ephemerals: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if ephemerals.is_empty() {
        return out;
    }
    for (i, _) in sql.match_indices(CTE_PREFIX) {
        if sql[..i].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = &sql[i..];
        let end = rest.char_indices().find(|(_, c)| !is_ident(*c)).map_or(rest.len(), |(j, _)| j);
        let name = &rest[..end];
        if ephemerals.contains_key(name) && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Puts `ctes` in front of `sql`, merging with its own leading `with`.
pub(super) fn prepend(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let list: Vec<String> = ctes.iter().map(|(n, body)| format!("{n} as (\n{body}\n)")).collect();
    let list = list.join(",  ");
    match after_leading_with(sql) {
        Some(at) => format!("{} {list},{}", &sql[..at], &sql[at..]),
        None => format!("with {list}\n{sql}"),
    }
}

/// Skips whitespace and SQL comments from byte `i`.
fn skip_blank(sql: &str, mut i: usize) -> usize {
    loop {
        let rest = &sql[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            i += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            i += 2 + body.find("*/").map_or(body.len(), |j| j + 2);
        } else {
            return i;
        }
    }
}

/// Byte offset just past a leading `with` keyword word (and `recursive`).
fn keyword_at(sql: &str, i: usize, word: &str) -> Option<usize> {
    let rest = &sql[i..];
    let head = rest.get(..word.len())?;
    let boundary = rest[word.len()..].chars().next().is_none_or(|c| !is_ident(c));
    (head.eq_ignore_ascii_case(word) && boundary).then_some(i + word.len())
}

/// Where the CTEs go when the query opens with its own `with [recursive]`.
fn after_leading_with(sql: &str) -> Option<usize> {
    let at = keyword_at(sql, skip_blank(sql, 0), "with")?;
    Some(keyword_at(sql, skip_blank(sql, at), "recursive").unwrap_or(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> BTreeMap<String, String> {
        names.iter().map(|n| (format!("{CTE_PREFIX}{n}"), format!("models/{n}.sql"))).collect()
    }

    #[test]
    fn finds_known_cte_names_once_in_order_of_mention() {
        let sql = "select * from __dbt__cte__b join __dbt__cte__a using (x) join __dbt__cte__b2 join __dbt__cte__b";
        assert_eq!(mentioned(sql, &known(&["a", "b"])), vec!["__dbt__cte__b", "__dbt__cte__a"]);
        // A longer identifier that merely contains the prefix is not a mention.
        assert!(mentioned("select x__dbt__cte__a from t", &known(&["a"])).is_empty());
    }

    #[test]
    fn ctes_are_prepended_with_a_new_with() {
        let ctes = vec![("__dbt__cte__a".to_string(), "select 1 as x".to_string())];
        assert_eq!(
            prepend("select * from __dbt__cte__a", &ctes),
            "with __dbt__cte__a as (\nselect 1 as x\n)\nselect * from __dbt__cte__a"
        );
        assert_eq!(prepend("select 1", &[]), "select 1");
    }

    #[test]
    fn ctes_join_the_querys_own_with() {
        let ctes = vec![
            ("__dbt__cte__a".to_string(), "select 1 as x".to_string()),
            ("__dbt__cte__b".to_string(), "select x from __dbt__cte__a".to_string()),
        ];
        let sql = "-- lead\n/* note */ WITH mine as (select * from __dbt__cte__b) select * from mine";
        assert_eq!(
            prepend(sql, &ctes),
            "-- lead\n/* note */ WITH __dbt__cte__a as (\nselect 1 as x\n),  __dbt__cte__b as (\nselect x from __dbt__cte__a\n), mine as (select * from __dbt__cte__b) select * from mine"
        );
        let rec = "with recursive r(n) as (select 1) select * from r, __dbt__cte__a";
        assert_eq!(
            prepend(rec, &ctes[..1]),
            "with recursive __dbt__cte__a as (\nselect 1 as x\n), r(n) as (select 1) select * from r, __dbt__cte__a"
        );
        // `without_…` is not the keyword `with`.
        assert_eq!(after_leading_with("without_x as (select 1)"), None);
    }

    #[test]
    fn trailing_semicolons_are_trimmed() {
        assert_eq!(trim_sql("select 1 ;; \n"), "select 1");
    }
}
