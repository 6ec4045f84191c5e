//! Comparing a unit test's actual rows with its expected rows, and the
//! table dbt prints when they differ.
//!
//! dbt sorts both sides and compares them with daff, order-insensitively:
//! the test fails exactly when the two sorted lists of rows differ, which is
//! what [`compare`] decides. The rendering follows daff's terminal layout
//! (`@@` header, `+++` a row only in the actual output, `---` a row only
//! expected, `→` a row whose cells changed, `old→new`), pairing a changed row
//! by its first column; daff's own alignment heuristics are not reproduced
//! cell for cell. Pure: rows in, text out.

use std::cmp::Ordering;

/// One cell as the database printed it; `None` is SQL null.
pub type Value = Option<String>;

/// dbt's `list_rows_from_table(sort=True)` order: nulls after values,
/// numbers by value, other text as text.
fn cmp_cell(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal).then_with(|| x.cmp(y)),
            _ => x.cmp(y),
        },
    }
}

fn cmp_row(a: &[Value], b: &[Value]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| cmp_cell(x, y)).find(|o| o.is_ne()).unwrap_or_else(|| a.len().cmp(&b.len()))
}

enum Line {
    Same(Vec<Value>),
    Changed(Vec<Value>, Vec<Value>),
    Removed(Vec<Value>),
    Added(Vec<Value>),
}

impl Line {
    fn key(&self) -> &[Value] {
        match self {
            Line::Same(r) | Line::Changed(r, _) | Line::Removed(r) | Line::Added(r) => r,
        }
    }
}

/// `None` when the rows are the same (order aside), else dbt's message:
/// `actual differs from expected:` and the difference table.
pub fn compare(columns: &[String], mut actual: Vec<Vec<Value>>, mut expected: Vec<Vec<Value>>) -> Option<String> {
    actual.sort_by(|a, b| cmp_row(a, b));
    expected.sort_by(|a, b| cmp_row(a, b));
    if actual == expected {
        return None;
    }
    let mut lines = Vec::new();
    let mut left: Vec<Vec<Value>> = Vec::new();
    for row in expected {
        match actual.iter().position(|a| *a == row) {
            Some(i) => {
                actual.remove(i);
                lines.push(Line::Same(row));
            }
            None => left.push(row),
        }
    }
    for row in left {
        match actual.iter().position(|a| a.first() == row.first()) {
            Some(i) => {
                let now = actual.remove(i);
                lines.push(Line::Changed(row, now));
            }
            None => lines.push(Line::Removed(row)),
        }
    }
    lines.extend(actual.into_iter().map(Line::Added));
    lines.sort_by(|a, b| cmp_row(a.key(), b.key()));
    Some(format!("\n\nactual differs from expected:\n\n{}\r\n\n", render(columns, &lines).join("\r\n")))
}

fn text(v: &Value) -> String {
    v.clone().unwrap_or_else(|| "NULL".to_string())
}

/// daff's terminal table: a marker column, then one column per tested
/// column, cells padded to their column's width but the last.
fn render(columns: &[String], lines: &[Line]) -> Vec<String> {
    let mut table: Vec<Vec<String>> = vec![std::iter::once("@@".to_string()).chain(columns.iter().cloned()).collect()];
    for line in lines {
        let (marker, cells): (&str, Vec<String>) = match line {
            Line::Same(r) => ("", r.iter().map(text).collect()),
            Line::Removed(r) => ("---", r.iter().map(text).collect()),
            Line::Added(r) => ("+++", r.iter().map(text).collect()),
            Line::Changed(old, new) => (
                "→",
                old.iter()
                    .zip(new)
                    .map(|(o, n)| if o == n { text(o) } else { format!("{}→{}", text(o), text(n)) })
                    .collect(),
            ),
        };
        table.push(std::iter::once(marker.to_string()).chain(cells).collect());
    }
    let width = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..width)
        .map(|i| table.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    table
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let pad = if i + 1 == r.len() { 0 } else { widths[i].saturating_sub(c.chars().count()) };
                    format!("{c}{}", " ".repeat(pad))
                })
                .collect();
            cells.join(",")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[&[&str]]) -> Vec<Vec<Value>> {
        spec.iter().map(|r| r.iter().map(|c| (*c != "NULL").then(|| c.to_string())).collect()).collect()
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn same_rows_in_another_order_pass() {
        let a = rows(&[&["2", "b"], &["1", "a"], &["10", "NULL"]]);
        let e = rows(&[&["10", "NULL"], &["1", "a"], &["2", "b"]]);
        assert_eq!(compare(&cols(&["id", "name"]), a, e), None);
    }

    #[test]
    fn a_missing_row_is_shown_as_dbt_shows_it() {
        let d = compare(
            &cols(&["id", "status"]),
            rows(&[&["1", "placed"]]),
            rows(&[&["1", "placed"], &["2", "cancelled"]]),
        );
        assert_eq!(
            d.as_deref(),
            Some("\n\nactual differs from expected:\n\n@@ ,id,status\r\n   ,1 ,placed\r\n---,2 ,cancelled\r\n\n")
        );
    }

    #[test]
    fn a_changed_row_shows_old_and_new_cells() {
        let d = compare(&cols(&["customer_id", "order_count"]), rows(&[&["1", "1"]]), rows(&[&["1", "3"]]));
        assert_eq!(
            d.as_deref(),
            Some("\n\nactual differs from expected:\n\n@@,customer_id,order_count\r\n→ ,1          ,3→1\r\n\n")
        );
        let extra = compare(&cols(&["id"]), rows(&[&["5"], &["6"]]), rows(&[&["5"]])).expect("differs");
        assert!(extra.contains("+++,6"), "{extra}");
        // A duplicate is a difference too.
        assert!(compare(&cols(&["id"]), rows(&[&["5"], &["5"]]), rows(&[&["5"]])).is_some());
    }
}
