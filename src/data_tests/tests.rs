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
    conn.query_row(&wrapped, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap_or_else(|e| panic!("{e}\n{wrapped}"))
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
}

#[test]
fn store_failures_keeps_every_failing_row_and_counts_from_them() {
    let conn = db();
    let store =
        StoreFailures { relation: "\"audit\".\"not_null_t_code\"".into(), schema: "\"audit\"".into(), as_view: false };
    let cfg = TestConfig { store_failures: Some(store), limit: Some(1), ..TestConfig::default() };
    let sql = failing_rows_sql(&GenericTest::NotNull, "t", "code");
    // Twice: the second run replaces the table instead of failing on it.
    for _ in 0..2 {
        assert_eq!(run(&conn, &sql, &cfg).0, 1, "the limit still caps the count");
    }
    let kept: i64 = conn.query_row("select count(*) from audit.not_null_t_code", [], |r| r.get(0)).expect("kept");
    assert_eq!(kept, 2, "the stored rows are not limited");
    let as_view = StoreFailures { relation: "audit.v".into(), schema: "audit".into(), as_view: true };
    let cfg = TestConfig { store_failures: Some(as_view), ..TestConfig::default() };
    assert_eq!(run(&conn, &sql, &cfg).0, 2);
    let kind: String = conn
        .query_row("select table_type from information_schema.tables where table_name = 'v'", [], |r| r.get(0))
        .expect("view");
    assert_eq!(kind, "VIEW");
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
