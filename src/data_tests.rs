//! dbt's built-in generic tests as SQL, the wrapper that turns failing rows
//! into counts, and the PASS/WARN/FAIL decision.
//!
//! Owns the exact SQL of `not_null`, `unique`, `accepted_values` and
//! `relationships`, so failure counts agree with dbt-core's, plus dbt's test
//! naming. It only builds strings and decides statuses: it never opens a
//! database, resolves `ref`, parses YAML files, schedules or prints. Relations
//! arrive already rendered; column names and `field` arrive as SQL (dbt splices
//! them in unquoted, which is what lets `column_name: "a || b"` work); callers
//! that honour a column's `quote: true` wrap the name with [`quote_ident`].

use serde_yaml::Value;

/// One of dbt's four built-in generic tests with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum GenericTest {
    NotNull,
    Unique,
    AcceptedValues {
        values: Vec<Value>,
        quote: bool,
    },
    /// `to` is an already-rendered relation such as `"shop"."main"."customers"`.
    Relationships {
        to: String,
        field: String,
    },
}

/// Ordered so that `Error` is the stronger severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warn,
    Error,
}

impl Severity {
    /// dbt accepts any case (`warn`, `ERROR`).
    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "warn" => Some(Severity::Warn),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// The test configs that change the query or its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct TestConfig {
    pub severity: Severity,
    /// A SQL comparison appended to `fail_calc`, e.g. `!= 0` or `> 10`.
    pub warn_if: String,
    pub error_if: String,
    pub fail_calc: String,
    pub limit: Option<u64>,
    pub where_clause: Option<String>,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            severity: Severity::Error,
            warn_if: "!= 0".to_string(),
            error_if: "!= 0".to_string(),
            fail_calc: "count(*)".to_string(),
            limit: None,
            where_clause: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Pass,
    Warn,
    Fail,
}

impl TestStatus {
    /// The word dbt prints and users grep for.
    pub fn label(self) -> &'static str {
        match self {
            TestStatus::Pass => "PASS",
            TestStatus::Warn => "WARN",
            TestStatus::Fail => "FAIL",
        }
    }
}

/// A double-quoted identifier; embedded quotes are doubled so any name is safe.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One entry of an `accepted_values` list.
///
/// With `quote` every value becomes a string literal, as dbt does (`'1'`;
/// DuckDB casts it when comparing with a number column). Without it the
/// value is inlined as written, so `quote: false` fits numbers and booleans,
/// and a string is taken to be SQL on purpose, exactly like dbt.
/// dbt renders Python's `True`/`None`; we write SQL's `true`/`null` instead,
/// since a YAML null in the list would never match anything either way.
pub fn sql_literal(v: &Value, quote: bool) -> String {
    let text = match v {
        Value::Null => return "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Tagged(t) => return sql_literal(&t.value, quote),
        Value::Sequence(_) | Value::Mapping(_) => {
            serde_yaml::to_string(v).map(|s| s.trim().to_string()).unwrap_or_default()
        }
    };
    if quote {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text
    }
}

/// The relation a test reads: the model itself, or with `where:` the
/// subquery dbt substitutes for it (same alias, so messages match dbt's).
pub fn tested_relation(relation: &str, where_clause: Option<&str>) -> String {
    match where_clause.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => format!("(select * from {relation} where {w}) dbt_subquery"),
        None => relation.to_string(),
    }
}

/// The query whose rows are the failures, in the shape of dbt-core's macro
/// for each test, so `count(*)` over it equals dbt's failure count.
pub fn failing_rows_sql(test: &GenericTest, relation_expr: &str, column: &str) -> String {
    match test {
        GenericTest::NotNull => {
            format!("select {column}\nfrom {relation_expr}\nwhere {column} is null")
        }
        GenericTest::Unique => format!(
            "select\n    {column} as unique_field,\n    count(*) as n_records\n\
             from {relation_expr}\nwhere {column} is not null\n\
             group by {column}\nhaving count(*) > 1"
        ),
        GenericTest::AcceptedValues { values, quote } => {
            let list: Vec<String> = values.iter().map(|v| sql_literal(v, *quote)).collect();
            // Grouping first gives one failing row per distinct bad value, and
            // `not in` leaves NULL unknown, so nulls never fail: both as in dbt.
            format!(
                "with all_values as (\n    select\n        {column} as value_field,\n        \
                 count(*) as n_records\n    from {relation_expr}\n    group by {column}\n)\n\
                 select *\nfrom all_values\nwhere value_field not in (\n    {}\n)",
                list.join(", ")
            )
        }
        GenericTest::Relationships { to, field } => format!(
            "with child as (\n    select {column} as from_field\n    from {relation_expr}\n    \
             where {column} is not null\n),\nparent as (\n    select {field} as to_field\n    \
             from {to}\n)\nselect from_field\nfrom child\nleft join parent\n    \
             on child.from_field = parent.to_field\nwhere parent.to_field is null"
        ),
    }
}

/// dbt's wrapper: one row with the failure count and both verdicts computed
/// by the database, so custom `fail_calc`/`warn_if`/`error_if` work unchanged.
/// Also used for singular tests, whose files may end with `;`.
pub fn wrap_sql(failing_rows_sql: &str, cfg: &TestConfig) -> String {
    let inner = failing_rows_sql.trim_end().trim_end_matches(';').trim_end();
    // The limit goes on its own line: a trailing `-- comment` in the test
    // would otherwise swallow it.
    let limit = cfg.limit.map(|n| format!("\nlimit {n}")).unwrap_or_default();
    let calc = cfg.fail_calc.trim();
    format!(
        "select\n    {calc} as failures,\n    {calc} {warn} as should_warn,\n    \
         {calc} {error} as should_error\nfrom (\n{inner}{limit}\n) dbt_internal_test",
        warn = cfg.warn_if.trim(),
        error = cfg.error_if.trim(),
    )
}

/// dbt's verdict: error_if only counts for severity `error`; otherwise the
/// test can at worst warn.
pub fn status(cfg: &TestConfig, should_warn: bool, should_error: bool) -> TestStatus {
    if cfg.severity == Severity::Error && should_error {
        TestStatus::Fail
    } else if should_warn {
        TestStatus::Warn
    } else {
        TestStatus::Pass
    }
}

/// dbt's name for a generic test: `<kind>_<model>_<column>__<arg>__<arg>`.
///
/// `args` are the arguments other than `column_name`, already flattened to
/// strings in dbt's order (sorted by argument name, list items in place),
/// e.g. `["id", "ref('customers')"]` for relationships' `field` and `to`.
/// Each run of characters outside `[0-9a-zA-Z_]` becomes one `_`, as dbt's
/// regex does; the model name is kept verbatim. Not done: dbt shortens names
/// of 64 characters or more to a prefix plus an md5 for the compiled file
/// name and alias; we always use the full name.
pub fn generic_test_name(test_kind: &str, model: &str, column: &str, args: &[String]) -> String {
    let parts: Vec<String> = std::iter::once(column)
        .filter(|c| !c.is_empty())
        .chain(args.iter().map(String::as_str))
        .map(clean_name_part)
        .collect();
    format!("{test_kind}_{model}_{}", parts.join("__"))
}

fn clean_name_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut in_run = false;
    for c in part.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::Connection;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("test setup");
        conn.execute_batch(
            "create table t (id integer, code varchar, n integer, parent_id integer);
             insert into t values
                 (1, 'a', 1, 10), (2, 'a', 2, 10), (3, 'b', 3, 20),
                 (4, 'b', 3, 99), (5, 'c', null, 98), (6, 'zz', 7, null),
                 (7, null, null, null), (8, null, 9, 98), (8, 'it''s', 7, 10);
             create table p (pid integer);
             insert into p values (10), (20), (30), (null);",
        )
        .expect("test setup");
        conn
    }

    /// Runs the wrapped test and returns (failures, should_warn, should_error).
    fn run(conn: &Connection, sql: &str, cfg: &TestConfig) -> (i64, bool, bool) {
        let wrapped = wrap_sql(sql, cfg);
        conn.query_row(&wrapped, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap_or_else(|e| panic!("{e}\n{wrapped}"))
    }

    fn count(conn: &Connection, test: &GenericTest, column: &str) -> i64 {
        run(conn, &failing_rows_sql(test, "t", column), &TestConfig::default()).0
    }

    fn strings(v: &[&str]) -> Vec<Value> {
        v.iter().map(|s| Value::String(s.to_string())).collect()
    }

    #[test]
    fn not_null_counts_null_rows() {
        let conn = db();
        assert_eq!(count(&conn, &GenericTest::NotNull, "code"), 2);
        assert_eq!(count(&conn, &GenericTest::NotNull, "n"), 2);
        assert_eq!(count(&conn, &GenericTest::NotNull, "id"), 0);
    }

    #[test]
    fn unique_counts_each_duplicated_value_once_and_ignores_nulls() {
        let conn = db();
        // 'a' and 'b' twice each; the two null codes are not duplicates.
        assert_eq!(count(&conn, &GenericTest::Unique, "code"), 2);
        // 3 twice, 7 twice; two nulls ignored.
        assert_eq!(count(&conn, &GenericTest::Unique, "n"), 2);
        assert_eq!(count(&conn, &GenericTest::Unique, "id"), 1);
    }

    #[test]
    fn accepted_values_counts_distinct_bad_values_and_passes_nulls() {
        let conn = db();
        let test = GenericTest::AcceptedValues { values: strings(&["a", "b"]), quote: true };
        // 'c', 'zz' and "it's" are bad; 'b' appears twice but is fine; null passes.
        assert_eq!(count(&conn, &test, "code"), 3);
        let test = GenericTest::AcceptedValues { values: strings(&["a", "b", "c", "zz", "it's"]), quote: true };
        assert_eq!(count(&conn, &test, "code"), 0);
    }

    #[test]
    fn accepted_values_unquoted_integers() {
        let conn = db();
        let values = vec![Value::from(1), Value::from(2), Value::from(3)];
        let test = GenericTest::AcceptedValues { values, quote: false };
        let sql = failing_rows_sql(&test, "t", "n");
        assert!(sql.contains("not in (\n    1, 2, 3\n)"), "{sql}");
        // 7 (twice) and 9 are bad: two distinct values; nulls pass.
        assert_eq!(count(&conn, &test, "n"), 2);
        let bools = GenericTest::AcceptedValues { values: vec![Value::Bool(true)], quote: false };
        assert!(failing_rows_sql(&bools, "t", "b").contains("not in (\n    true\n)"));
    }

    #[test]
    fn relationships_ignore_null_children_and_count_orphans() {
        let conn = db();
        let test = GenericTest::Relationships { to: "p".into(), field: "pid".into() };
        // 99, 98, 98 have no parent; the null child is ignored; the null parent matches nothing.
        assert_eq!(count(&conn, &test, "parent_id"), 3);
    }

    #[test]
    fn where_filters_the_tested_relation() {
        let conn = db();
        let rel = tested_relation("t", Some("id < 5"));
        assert_eq!(rel, "(select * from t where id < 5) dbt_subquery");
        assert_eq!(tested_relation("t", Some("  ")), "t");
        let cfg = TestConfig { where_clause: Some("id < 5".into()), ..TestConfig::default() };
        let rel = tested_relation("t", cfg.where_clause.as_deref());
        assert_eq!(run(&conn, &failing_rows_sql(&GenericTest::Unique, &rel, "code"), &cfg).0, 2);
        assert_eq!(run(&conn, &failing_rows_sql(&GenericTest::NotNull, &rel, "code"), &cfg).0, 0);
    }

    #[test]
    fn limit_caps_the_failing_rows() {
        let conn = db();
        let cfg = TestConfig { limit: Some(1), ..TestConfig::default() };
        let sql = failing_rows_sql(&GenericTest::NotNull, "t", "code");
        assert_eq!(run(&conn, &sql, &cfg).0, 1);
        // A trailing comment or semicolon in a singular test must not eat the limit.
        assert_eq!(run(&conn, "select * from t -- all rows\n;", &cfg).0, 1);
    }

    #[test]
    fn custom_fail_calc_and_thresholds() {
        let conn = db();
        let sql = failing_rows_sql(&GenericTest::NotNull, "t", "code");
        let cfg = TestConfig {
            fail_calc: "sum(case when code is null then 5 else 0 end)".into(),
            warn_if: ">= 10".into(),
            error_if: "> 10".into(),
            ..TestConfig::default()
        };
        assert_eq!(run(&conn, &sql, &cfg), (10, true, false));
        assert_eq!(status(&cfg, true, false), TestStatus::Warn);
        let cfg = TestConfig { warn_if: "> 1".into(), error_if: "> 5".into(), ..TestConfig::default() };
        assert_eq!(run(&conn, &sql, &cfg), (2, true, false));
        let clean = failing_rows_sql(&GenericTest::NotNull, "t", "id");
        assert_eq!(run(&conn, &clean, &TestConfig::default()), (0, false, false));
    }

    #[test]
    fn status_for_every_severity() {
        let error = TestConfig::default();
        let warn = TestConfig { severity: Severity::Warn, ..TestConfig::default() };
        assert_eq!(status(&error, false, false), TestStatus::Pass);
        assert_eq!(status(&error, true, false), TestStatus::Warn);
        assert_eq!(status(&error, true, true), TestStatus::Fail);
        assert_eq!(status(&error, false, true), TestStatus::Fail);
        assert_eq!(status(&warn, false, false), TestStatus::Pass);
        assert_eq!(status(&warn, true, false), TestStatus::Warn);
        assert_eq!(status(&warn, true, true), TestStatus::Warn);
        assert_eq!(status(&warn, false, true), TestStatus::Pass);
        assert_eq!(Severity::parse("WARN"), Some(Severity::Warn));
        assert_eq!(Severity::parse(" error"), Some(Severity::Error));
        assert_eq!(Severity::parse("fatal"), None);
        assert!(Severity::Warn < Severity::Error);
        assert_eq!(TestStatus::Warn.label(), "WARN");
    }

    #[test]
    fn names_follow_dbt() {
        assert_eq!(generic_test_name("not_null", "orders", "order_id", &[]), "not_null_orders_order_id");
        assert_eq!(generic_test_name("unique", "orders", "order_id", &[]), "unique_orders_order_id");
        let args = ["placed".to_string(), "shipped".to_string()];
        assert_eq!(
            generic_test_name("accepted_values", "orders", "status", &args),
            "accepted_values_orders_status__placed__shipped"
        );
        let args = ["id".to_string(), "ref('customers')".to_string()];
        assert_eq!(
            generic_test_name("relationships", "orders", "customer_id", &args),
            "relationships_orders_customer_id__id__ref_customers_"
        );
        let args = ["a b".to_string(), "x--y".to_string()];
        assert_eq!(generic_test_name("t", "m", "", &args), "t_m_a_b__x_y");
    }

    #[test]
    fn quoting_identifiers_and_literals() {
        assert_eq!(quote_ident("order_id"), "\"order_id\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(sql_literal(&Value::from("it's"), true), "'it''s'");
        assert_eq!(sql_literal(&Value::from(3), true), "'3'");
        assert_eq!(sql_literal(&Value::from(3), false), "3");
        assert_eq!(sql_literal(&Value::from(2.5), false), "2.5");
        assert_eq!(sql_literal(&Value::Bool(false), false), "false");
        assert_eq!(sql_literal(&Value::Null, true), "null");
        let conn = db();
        conn.execute_batch("create table q (\"we\"\"ird\" varchar); insert into q values ('x'), (null);")
            .expect("test setup");
        let sql = failing_rows_sql(&GenericTest::NotNull, "q", &quote_ident("we\"ird"));
        assert_eq!(run(&conn, &sql, &TestConfig::default()).0, 1);
    }
}
