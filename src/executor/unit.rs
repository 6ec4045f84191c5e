//! Running one unit test on a worker's connection, as dbt's `unit`
//! materialization does: each input's fixture rows cast to the types of the
//! relation it stands in for (read from the database, so the inputs must
//! exist), the model rendered over those CTEs, its output types read from an
//! empty run of it, the expected rows cast to them, and actual and expected
//! fetched together and compared ([`crate::unit_tests::diff`]). Only reads:
//! nothing is created, so `runner test` keeps the database read-only.

use super::{error, Execution, Executor};
use crate::events::Status;
use crate::nodes::Node;
use crate::template::unit::{with_ctes, UnitRender};
use crate::unit_tests::sql::{self, Column};
use crate::unit_tests::{diff, parse, Fixture, Input, Planned, Row};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a unit test could not be compared: dbt reports it as an error.
type Failed = (String, Vec<String>);

impl Executor {
    pub(super) fn unit_test(&self, node: &Node, ut: &Planned) -> Result<Execution, (duckdb::Error, Vec<String>)> {
        match self.unit_test_inner(node, ut) {
            Ok(e) => Ok(e),
            Err((message, sql)) => Ok(error(message, sql, 1)),
        }
    }

    fn unit_test_inner(&self, node: &Node, ut: &Planned) -> Result<Execution, Failed> {
        let mut ran = Vec::new();
        let file = node.file.display().to_string();
        let mut render = UnitRender {
            test_id: &node.id,
            file: &file,
            refs: BTreeMap::new(),
            sources: BTreeMap::new(),
            this: None,
            is_incremental: ut.is_incremental,
            config: Arc::new(ut.model_config.clone()),
            overrides: &ut.overrides,
        };
        for input in &ut.inputs {
            let cte = input.cte.clone();
            match &input.input {
                Input::This => render.this = Some(cte),
                Input::Ref(r) => {
                    render.refs.insert(r.clone(), cte);
                }
                Input::Source(s, t) => {
                    render.sources.insert((s.clone(), t.clone()), cte);
                }
            }
        }
        let compile_error = |d: crate::diag::Diagnostic| {
            (format!("Compilation Error in unit_test {} ({file})\n  {}", node.name, d.message), Vec::new())
        };
        let (body, used) = self.templates.render_unit_test(&ut.template, &render).map_err(compile_error)?;
        // Only the inputs the model used are built, in the order it used them, as dbt's CTEs are.
        let mut ctes = Vec::new();
        for cte in used {
            let Some(input) = ut.inputs.iter().find(|i| i.cte == cte) else { continue };
            let fixture = self
                .fixture_sql(input, &mut ran)
                .map_err(|e| (format!("Compilation Error in model {} ({file})\n  {e}", input.name), ran.clone()))?;
            ctes.push((cte, fixture));
        }
        let main = with_ctes(&body, &ctes);
        let runtime_error = |e: String, sql: Vec<String>| {
            (
                format!(
                    "An error occurred during execution of unit test '{}'. There may be an error in the unit test definition: check the data types.\n {e}",
                    node.name
                ),
                sql,
            )
        };
        let describe = format!("describe {}", sql::empty_subquery_sql(&main));
        ran.push(describe.clone());
        let actual = columns(self.reader.query(&describe).map_err(|e| runtime_error(e.to_string(), ran.clone()))?);
        let (tested, expected) = match &ut.expect {
            // Rendered once while its file loaded, as dbt renders it while
            // parsing; dbt's unit materialization uses it as it is.
            Fixture::Sql(text) => (actual.clone(), crate::template::ephemeral::trim_sql(text).to_string()),
            Fixture::Rows(rows) => expected(rows, &actual).map_err(|e| runtime_error(e, ran.clone()))?,
            Fixture::SeedFile(_) => return Err(("expected rows cannot come from a seed".into(), ran)),
        };
        let query = sql::unit_test_sql(&main, &expected, &tested);
        ran.push(query.clone());
        let rows = self.reader.query(&query).map_err(|e| runtime_error(e.to_string(), ran.clone()))?;
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for mut row in rows {
            let tag = row.pop().flatten();
            match tag.as_deref() {
                Some("actual") => got.push(row),
                _ => want.push(row),
            }
        }
        let names: Vec<String> = tested.iter().map(|c| c.name.clone()).collect();
        let message = diff::compare(&names, got, want);
        let status = if message.is_some() { Status::Fail } else { Status::Pass };
        let count = u64::from(message.is_some());
        Ok(Execution { status, count: Some(count), message, sql: ran, attempts: 1 })
    }

    /// An input's CTE body: its rows over the columns of the relation it stands in for.
    fn fixture_sql(&self, input: &crate::unit_tests::PlannedInput, ran: &mut Vec<String>) -> Result<String, String> {
        let rows: Vec<Row> = match &input.fixture {
            Fixture::Sql(text) => return self.rendered(text),
            Fixture::Rows(rows) => rows.clone(),
            Fixture::SeedFile(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                parse::csv_rows(&text, false)?
            }
        };
        let rel = &input.relation;
        let lookup = sql::columns_in_relation_sql(&rel.database, &rel.schema, &rel.identifier);
        ran.push(lookup.clone());
        let found = self.reader.query(&lookup).map_err(|e| e.to_string())?;
        let cols: Vec<Column> = found
            .into_iter()
            .filter_map(|r| Some(Column { name: r.first()?.clone()?, data_type: r.get(1)?.clone()? }))
            .collect();
        if cols.is_empty() {
            return Err(format!(
                "Not able to get columns for unit test '{}' from relation {rel} because the relation doesn't exist",
                input.name
            ));
        }
        sql::fixture_sql(&input.name, &rows, &cols)
    }

    /// A `format: sql` input: Jinja in it is rendered (`var`, `env_var`,
    /// `target`), as dbt compiles an input's SQL (once more, when it was
    /// written in the property file, which rendered it while loading).
    fn rendered(&self, text: &str) -> Result<String, String> {
        self.templates.render_config_str(text).map(|s| crate::template::ephemeral::trim_sql(&s).to_string())
    }
}

/// `describe`'s rows as columns: name and type.
fn columns(rows: Vec<crate::db::raw::Row>) -> Vec<Column> {
    rows.into_iter().filter_map(|r| Some(Column { name: r.first()?.clone()?, data_type: r.get(1)?.clone()? })).collect()
}

/// The tested columns and the expected rows' SQL.
fn expected(rows: &[Row], actual: &[Column]) -> Result<(Vec<Column>, String), String> {
    let tested = sql::tested_columns(Some(rows), actual)?;
    Ok((tested, sql::expected_sql(rows, actual)?))
}
