//! dbt's built-in generic tests as SQL, the wrapper that turns failing rows
//! into counts, and the PASS/WARN/FAIL decision.
//!
//! Owns the exact SQL of `not_null`, `unique`, `accepted_values` and
//! `relationships`, so failure counts agree with dbt-core's, the statements
//! that keep failing rows (`store_failures`), and dbt's test naming
//! ([`naming`]). It only builds strings and decides statuses: it never opens a
//! database, resolves `ref`, parses YAML files, schedules or prints. Relations
//! arrive already rendered; column names and `field` arrive as SQL (dbt splices
//! them in unquoted, which is what lets `column_name: "a || b"` work); callers
//! that honour a column's `quote: true` wrap the name with [`quote_ident`].

pub mod naming;

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
    /// `store_failures: true`: where the failing rows are kept.
    pub store_failures: Option<StoreFailures>,
}

/// The relation that keeps a test's failing rows, recreated on every run, as
/// dbt-duckdb does: `<target.schema>_dbt_test__audit.<test alias>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailures {
    /// Rendered and quoted: `"db"."main_dbt_test__audit"."not_null_orders_id"`.
    pub relation: String,
    /// Rendered and quoted schema, created when missing.
    pub schema: String,
    /// `store_failures_as: view` keeps a view instead of a table.
    pub as_view: bool,
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
            store_failures: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Pass,
    Warn,
    Fail,
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
///
/// With `store_failures` the text is a script: it first (re)creates the audit
/// relation from every failing row (no `limit`, as dbt), and its last
/// statement, the one whose row is read, counts from that relation. A
/// multi-statement text runs all statements but the last on `prepare`.
pub fn wrap_sql(failing_rows_sql: &str, cfg: &TestConfig) -> String {
    let inner = failing_rows_sql.trim_end().trim_end_matches(';').trim_end();
    // The limit goes on its own line: a trailing `-- comment` in the test
    // would otherwise swallow it.
    let limit = cfg.limit.map(|n| format!("\nlimit {n}")).unwrap_or_default();
    let calc = cfg.fail_calc.trim();
    let (prelude, source) = match &cfg.store_failures {
        None => (String::new(), inner.to_string()),
        Some(store) => {
            let kind = if store.as_view { "view" } else { "table" };
            (
                format!(
                    "create schema if not exists {schema};\n\
                     create or replace {kind} {rel} as (\n{inner}\n);\n",
                    schema = store.schema,
                    rel = store.relation
                ),
                format!("select * from {}", store.relation),
            )
        }
    };
    format!(
        "{prelude}select\n    {calc} as failures,\n    {calc} {warn} as should_warn,\n    \
         {calc} {error} as should_error\nfrom (\n{source}{limit}\n) dbt_internal_test",
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

#[cfg(test)]
mod tests;
