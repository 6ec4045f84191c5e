//! Planning generic tests declared in property YAML: resolving what they
//! test, evaluating arguments such as `to: ref('customers')`, dbt's test
//! names, and the failing-rows SQL. Part of the planner; no I/O.

use super::{enabled, test_config, yaml_scalar, Node, NodeKind, Planner, Resource, BUILTIN_TESTS};
use crate::config_tree;
use crate::data_tests::{self, GenericTest};
use crate::error::Diagnostic;
use crate::project::{Attached, TestDecl};
use crate::template::relation::Relation;
use crate::template::Relations;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

impl Planner<'_> {
    pub(super) fn generic_test(&mut self, decl: &TestDecl, relations: &Arc<Relations>) {
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        let (owner_name, tested, parent) = match &decl.attached {
            Attached::Model(m) => match (relations.by_name.get(m), self.names.get(m)) {
                (Some(r), Some(id)) => (m.clone(), r.clone(), Some(id.clone())),
                _ => {
                    // A test on a disabled or missing model is dropped by dbt only when disabled.
                    if self.project.models.iter().any(|f| &f.name == m)
                        || self.project.seeds.iter().any(|s| &s.name == m)
                    {
                        return;
                    }
                    self.errors.push(err(format!("tests reference `{m}`, which is not a model or seed")));
                    return;
                }
            },
            Attached::Source(s, t) => match relations.sources.get(&(s.clone(), t.clone())) {
                Some(r) => (format!("source_{s}_{t}"), r.clone(), None),
                None => return,
            },
        };
        if !BUILTIN_TESTS.contains(&decl.test.as_str()) {
            self.errors.push(
                err(format!("unknown generic test `{}`", decl.test))
                    .hint("runner has `not_null`, `unique`, `accepted_values` and `relationships`"),
            );
            return;
        }
        let Some(column) = decl.column.clone() else {
            self.errors.push(err(format!("test `{}` needs a column (put it under `columns:`)", decl.test)));
            return;
        };
        let mut deps: BTreeSet<String> = parent.into_iter().collect();
        let arg_str =
            |k: &str| decl.args.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| yaml_scalar(v)));
        let test = match decl.test.as_str() {
            "not_null" => GenericTest::NotNull,
            "unique" => GenericTest::Unique,
            "accepted_values" => match decl.args.get("values") {
                Some(Value::Sequence(values)) => GenericTest::AcceptedValues {
                    values: values.clone(),
                    quote: decl.args.get("quote").and_then(Value::as_bool).unwrap_or(true),
                },
                _ => {
                    self.errors.push(err("`accepted_values` needs `values: [...]`".into()));
                    return;
                }
            },
            _ => {
                let (Some(to), Some(field)) = (arg_str("to"), arg_str("field")) else {
                    self.errors.push(err("`relationships` needs `to:` and `field:`".into()));
                    return;
                };
                let this = Relation::new(&self.target.database, &self.target.schema, &owner_name);
                let rendered = match self.templates.eval_arg(&to, &this, None) {
                    Ok((_, rec)) => {
                        for r in &rec.refs {
                            match self.names.get(r) {
                                Some(id) => {
                                    deps.insert(id.clone());
                                }
                                None => {
                                    self.errors
                                        .push(err(format!("unknown ref `{r}` in `to:` of a `relationships` test")));
                                    return;
                                }
                            }
                        }
                        self.templates.eval_arg(&to, &this, Some(relations)).map(|(s, _)| s)
                    }
                    Err(e) => Err(e),
                };
                match rendered {
                    Ok(to) => GenericTest::Relationships { to, field },
                    Err(e) => {
                        self.errors.push(err(format!("cannot evaluate `to: {to}`: {e}")));
                        return;
                    }
                }
            }
        };
        let mut cfg = config_tree::from_tree(self.project.test_tree.as_ref(), &[self.project.name.clone()]);
        config_tree::merge(&mut cfg, decl.config.clone());
        if !enabled(&cfg) {
            return;
        }
        let tcfg = match test_config(&cfg) {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(err(e));
                return;
            }
        };
        // dbt names tests from their arguments sorted by key; for the built-in
        // tests `column_name` sorts first, so it leads, then the rest in key order.
        let mut name_args: Vec<String> = Vec::new();
        for v in decl.args.values() {
            match v {
                Value::Sequence(items) => name_args.extend(items.iter().map(name_part)),
                Value::Mapping(m) => name_args.extend(m.values().map(name_part)),
                other => name_args.push(name_part(other)),
            }
        }
        let name = decl
            .custom_name
            .clone()
            .unwrap_or_else(|| data_tests::generic_test_name(&decl.test, &owner_name, &column, &name_args));
        let relation_expr = data_tests::tested_relation(&tested.to_string(), tcfg.where_clause.as_deref());
        let sql = data_tests::failing_rows_sql(&test, &relation_expr, &column);
        self.nodes.push(Node {
            id: format!("test.{}.{}", self.project.name, name),
            name,
            resource: Resource::Test,
            file: decl.file.clone(),
            depends_on: deps,
            relation: None,
            config: cfg,
            kind: NodeKind::GenericTest { sql, cfg: tcfg },
        });
    }
}
/// How dbt prints an argument value inside a test name (Python's `str()`).
fn name_part(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => yaml_scalar(other),
    }
}
