//! The SQL of a unit test, as dbt's macros write it: `get_fixture_sql` (one
//! `select` of casts per input row, every column of the input relation
//! present, the ones a row leaves out null cast to their type),
//! `get_expected_sql` (the expected rows cast to the model's output types)
//! and `get_unit_test_sql` (actual and expected, tagged and unioned). The
//! column types arrive from the caller, read from the database as dbt reads
//! them. Builds strings only; errors are dbt's words.

use super::{Cell, Row};
use crate::data_tests::quote_ident;

/// A column of a relation or query, as `adapter.get_columns_in_relation` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// As the database names it; dbt matches fixture keys to it lowercased.
    pub name: String,
    pub data_type: String,
}

impl Column {
    fn key(&self) -> String {
        self.name.to_lowercase()
    }

    fn quoted(&self) -> String {
        quote_ident(&self.name)
    }
}

/// The CTE name dbt gives an input's rows: `__dbt__cte__<identifier>`.
pub fn cte_name(identifier: &str) -> String {
    format!("{}{identifier}", crate::template::relation::CTE_PREFIX)
}

/// dbt's `format_row`: each value of `row` cast to its column's type, in
/// the row's order; a key the columns do not have is an error naming `what`
/// (`'stg_orders'` for an input, `expected output` for the expectation).
fn format_row(row: &Row, columns: &[Column], what: &str) -> Result<Vec<(usize, String)>, String> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (key, cell) in row {
        let key = key.to_lowercase();
        let Some(i) = columns.iter().position(|c| c.key() == key) else {
            let accepted: Vec<String> = columns.iter().map(|c| format!("'{}'", c.key())).collect();
            return Err(format!(
                "Invalid column name: '{key}' in unit test fixture for {what}.\nAccepted columns for {what} are: [{}]",
                accepted.join(", ")
            ));
        };
        let value = match cell {
            Cell::Null => "null".to_string(),
            Cell::Text(t) => format!("'{}'", t.replace('\'', "''")),
            Cell::Literal(l) => l.clone(),
        };
        let cast = format!("cast({value} as {})", columns[i].data_type);
        // A key given twice (`Id` and `id`) keeps its first place and last value.
        match out.iter_mut().find(|(j, _)| *j == i) {
            Some(slot) => slot.1 = cast,
            None => out.push((i, cast)),
        }
    }
    Ok(out)
}

fn null_of(c: &Column) -> String {
    format!("cast(null as {})", c.data_type)
}

/// `get_fixture_sql`: the rows of input `name` over the input relation's
/// columns (every one of them, in its order).
pub fn fixture_sql(name: &str, rows: &[Row], columns: &[Column]) -> Result<String, String> {
    let what = format!("'{name}'");
    let select = |values: Vec<String>| {
        let items: Vec<String> = columns.iter().zip(values).map(|(c, v)| format!("{v} as {}", c.quoted())).collect();
        format!("select {}", items.join(", "))
    };
    let mut selects = Vec::new();
    for row in rows {
        let mut values: Vec<String> = columns.iter().map(null_of).collect();
        for (i, v) in format_row(row, columns, &what)? {
            values[i] = v;
        }
        selects.push(select(values));
    }
    if selects.is_empty() {
        return Ok(format!("-- Fixture for {name}\n{}\nlimit 0", select(columns.iter().map(null_of).collect())));
    }
    Ok(format!("-- Fixture for {name}\n{}", selects.join("\nunion all\n")))
}

/// The columns a unit test compares: those of the first expected row
/// (`expected_rows[0].keys()`), else every column of the model's output.
pub fn tested_columns(expected: Option<&[Row]>, actual: &[Column]) -> Result<Vec<Column>, String> {
    let Some(first) = expected.and_then(<[Row]>::first) else { return Ok(actual.to_vec()) };
    // An unknown key fails as `format_row` words it for the expectation.
    format_row(first, actual, "expected output")?;
    let mut out: Vec<Column> = Vec::new();
    for (key, _) in first {
        let key = key.to_lowercase();
        if let Some(c) = actual.iter().find(|c| c.key() == key) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    Ok(out)
}

/// `get_expected_sql`: the expected rows cast to the model's output types,
/// each row with its own columns; no rows is an empty result of the actual's shape.
pub fn expected_sql(rows: &[Row], actual: &[Column]) -> Result<String, String> {
    if rows.is_empty() {
        return Ok("select * from dbt_internal_unit_test_actual\nlimit 0".to_string());
    }
    let mut selects = Vec::new();
    for row in rows {
        let items: Vec<String> = format_row(row, actual, "expected output")?
            .into_iter()
            .map(|(i, v)| format!("{v} as {}", actual[i].quoted()))
            .collect();
        selects.push(format!("select {}", items.join(", ")));
    }
    Ok(selects.join("\nunion all\n"))
}

/// `get_unit_test_sql`: actual and expected rows on the tested columns,
/// each tagged in `actual_or_expected`.
pub fn unit_test_sql(main_sql: &str, expected_sql: &str, tested: &[Column]) -> String {
    let cols: Vec<String> = tested.iter().map(Column::quoted).collect();
    let cols = cols.join(", ");
    format!(
        "-- Build actual result given inputs\n\
         with dbt_internal_unit_test_actual as (\n  select\n    {cols}, 'actual' as \"actual_or_expected\"\n  from (\n    {main_sql}\n  ) _dbt_internal_unit_test_actual\n),\n\
         -- Build expected result\n\
         dbt_internal_unit_test_expected as (\n  select\n    {cols}, 'expected' as \"actual_or_expected\"\n  from (\n    {expected_sql}\n  ) _dbt_internal_unit_test_expected\n)\n\
         -- Union actual and expected results\n\
         select * from dbt_internal_unit_test_actual\nunion all\nselect * from dbt_internal_unit_test_expected"
    )
}

/// dbt's `get_empty_subquery_sql`: the shape of `sql` without its rows.
pub fn empty_subquery_sql(sql: &str) -> String {
    format!("select * from (\n{sql}\n) as __dbt_sbq\nwhere false\nlimit 0")
}

/// The query `adapter.get_columns_in_relation` runs on DuckDB, for `relation`'s parts.
pub fn columns_in_relation_sql(database: &str, schema: &str, identifier: &str) -> String {
    let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
    format!(
        "select column_name, data_type from system.information_schema.columns \
         where table_name = {} and lower(table_schema) = lower({}) and lower(table_catalog) = lower({}) \
         order by ordinal_position",
        lit(identifier),
        lit(schema),
        lit(database)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column { name: n.to_string(), data_type: t.to_string() }).collect()
    }

    fn row(cells: &[(&str, Cell)]) -> Row {
        cells.iter().map(|(k, c)| (k.to_string(), c.clone())).collect()
    }

    #[test]
    fn fixture_rows_fill_missing_columns_with_typed_nulls() {
        let c = cols(&[("id", "INTEGER"), ("Name", "VARCHAR")]);
        let sql = fixture_sql(
            "a",
            &[row(&[("ID", Cell::Literal("1".into()))]), row(&[("name", Cell::Text("o'k".into()))])],
            &c,
        )
        .expect("valid");
        assert_eq!(
            sql,
            "-- Fixture for a\nselect cast(1 as INTEGER) as \"id\", cast(null as VARCHAR) as \"Name\"\nunion all\n\
             select cast(null as INTEGER) as \"id\", cast('o''k' as VARCHAR) as \"Name\""
        );
        let empty = fixture_sql("a", &[], &c).expect("valid");
        assert!(empty.ends_with("limit 0"), "{empty}");
    }

    #[test]
    fn unknown_columns_are_dbts_error() {
        let c = cols(&[("id", "INTEGER")]);
        let e = fixture_sql("stg", &[row(&[("nope", Cell::Null)])], &c).expect_err("unknown");
        assert_eq!(
            e,
            "Invalid column name: 'nope' in unit test fixture for 'stg'.\nAccepted columns for 'stg' are: ['id']"
        );
        let e = tested_columns(Some(&[row(&[("x", Cell::Null)])]), &c).expect_err("unknown");
        assert!(e.contains("for expected output"), "{e}");
    }

    #[test]
    fn only_the_expected_columns_are_compared() {
        let actual = cols(&[("id", "INTEGER"), ("amount", "DECIMAL(18,2)"), ("status", "VARCHAR")]);
        let expected = [row(&[("status", Cell::Text("x".into())), ("id", Cell::Literal("2".into()))])];
        let tested = tested_columns(Some(&expected), &actual).expect("valid");
        assert_eq!(tested.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["status", "id"]);
        let sql = expected_sql(&expected, &actual).expect("valid");
        assert_eq!(sql, "select cast('x' as VARCHAR) as \"status\", cast(2 as INTEGER) as \"id\"");
        assert_eq!(tested_columns(Some(&[]), &actual).expect("valid"), actual);
        let all = unit_test_sql("select 1", &sql, &tested);
        assert!(all.contains("\"status\", \"id\", 'actual' as \"actual_or_expected\""), "{all}");
    }
}
