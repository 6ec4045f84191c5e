//! What property YAML adds to a node's DDL, decided once at plan time:
//! a model's enforced `contract` (the columns its SQL must return, with
//! their data types and constraints, and the model-level constraints) and
//! `persist_docs` comments for models, seeds and snapshots.
//!
//! dbt's parse-time checks are load errors here (exit 2) with the file and
//! line: a bad constraint type, primary keys on two columns or at both
//! levels, a contract whose entry lists no columns, an incremental contract
//! whose `on_schema_change` may drop columns, a foreign key `to:` that names
//! nothing. A foreign key's `to:` is an edge of the graph, as in dbt. What
//! dbt checks at run time (the columns and types themselves, a missing
//! `data_type`) stays for the executor. Renders descriptions but runs no SQL.

use super::constraints::{self, Constraint, Kind, Target};
use super::{fqn, Materialized, NodeKind, Planner, Resource};
use crate::config_tree::ConfigMap;
use crate::diag::Diagnostic;
use crate::project::NodeProps;
use crate::template::Relations;
use serde_yaml::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// The DDL a node's property entry adds; `None` on nodes without either part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ddl {
    pub contract: Option<Contract>,
    pub docs: Option<PersistDocs>,
}

/// An enforced contract of a view, table or incremental model.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// The property entry's columns, in its order: the table's columns.
    pub columns: Vec<ContractColumn>,
    /// Model-level constraints as DDL; empty for a view, which has none.
    pub constraints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContractColumn {
    pub name: String,
    pub quote: bool,
    /// As written, `string` read as `text` (dbt's `alias_types`).
    pub data_type: Option<String>,
    /// Column-level constraints as DDL; empty for a view.
    pub constraints: Vec<String>,
}

impl ContractColumn {
    /// The name as dbt writes it into SQL: quoted only with `quote: true`.
    pub fn sql_name(&self) -> String {
        if self.quote {
            format!("\"{}\"", self.name.replace('"', "\"\""))
        } else {
            self.name.clone()
        }
    }
}

/// `persist_docs`: the comments written after the relation is built.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistDocs {
    /// The description, with `relation: true` and a description to write.
    pub relation: Option<String>,
    /// With `columns: true`: every documented column (an empty description
    /// included, as dbt writes it).
    pub columns: Vec<DocColumn>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocColumn {
    pub name: String,
    pub quote: bool,
    pub description: String,
}

/// dbt-duckdb's dollar-quote tag around comments; a comment may not hold it.
pub const COMMENT_TAG: &str = "$dbt_comment_literal_block$";

/// Python's truthiness of a YAML value, as dbt's `if` reads a config flag.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Sequence(s)) => !s.is_empty(),
        Some(Value::Mapping(m)) => !m.is_empty(),
        Some(Value::Tagged(_)) => true,
    }
}

/// `persist_docs` as (relation, columns).
pub(crate) fn persist_docs_config(cfg: &ConfigMap) -> Result<(bool, bool), String> {
    match cfg.get("persist_docs") {
        None | Some(Value::Null) => Ok((false, false)),
        Some(Value::Mapping(m)) => Ok((truthy(m.get("relation")), truthy(m.get("columns")))),
        Some(v) => Err(format!(
            "`persist_docs` must be a map like `{{relation: true, columns: true}}`, not `{}`",
            super::yaml_scalar(v)
        )),
    }
}

/// `contract` as (enforced, alias_types).
pub(crate) fn contract_config(cfg: &ConfigMap) -> Result<(bool, bool), String> {
    let flag = |m: &serde_yaml::Mapping, k: &str, default: bool| match m.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("`contract.{k}` must be `true` or `false`, not `{}`", super::yaml_scalar(v))),
    };
    match cfg.get("contract") {
        None | Some(Value::Null) => Ok((false, true)),
        Some(Value::Mapping(m)) => Ok((flag(m, "enforced", false)?, flag(m, "alias_types", true)?)),
        Some(v) => Err(format!("`contract` must be a map like `{{enforced: true}}`, not `{}`", super::yaml_scalar(v))),
    }
}

/// A `constraints:` list as the manifest shows it (see [`constraints`]).
pub(crate) fn manifest_constraints(raw: Option<&Value>, model_level: bool) -> serde_json::Value {
    constraints::manifest_entries(raw, model_level)
}

/// A column's constraints, and where they were written.
struct Declared<'p> {
    column: Option<&'p crate::project::ColumnProps>,
    constraints: Vec<Constraint>,
}

impl Planner<'_> {
    /// Works out every seed's, model's and snapshot's [`Ddl`]; foreign keys
    /// become edges. Runs after `link`, when every relation is named.
    pub(super) fn ddl(&mut self, relations: &Relations) {
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            // A package's node is described by its own package's property files.
            let project = self.root.named(node.project()).unwrap_or(self.root);
            let props = match node.resource {
                // A model version's entry is its version's (found by its file).
                Resource::Model => {
                    let stem = node.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
                    project.model_props_of(&stem)
                }
                Resource::Seed => project.seed_props.get(&node.name),
                Resource::Snapshot => project.snapshot_props.get(&node.name),
                _ => continue,
            };
            let what = format!("{} `{}`", node.resource.as_str(), node.name);
            let cfg_file = |key: &str| match props {
                Some(p) if p.config.contains_key(key) => p.file.clone(),
                _ => node.file.clone(),
            };
            let docs = match persist_docs_config(&node.config) {
                Ok((relation, columns)) => self.persist_docs(props, relation, columns),
                Err(e) => {
                    self.errors.push(Diagnostic::in_file(cfg_file("persist_docs"), format!("{what}: {e}")));
                    continue;
                }
            };
            if let Some(d) = &docs {
                let texts = d.relation.iter().chain(d.columns.iter().map(|c| &c.description));
                if texts.into_iter().any(|t| t.contains(COMMENT_TAG)) {
                    let file = props.map_or(node.file.clone(), |p| p.file.clone());
                    self.errors.push(Diagnostic::in_file(
                        file,
                        format!("{what}: the string `{COMMENT_TAG}` is not allowed in a description that `persist_docs` writes"),
                    ));
                }
            }
            let contract = match &node.kind {
                NodeKind::Model { materialized, .. } => {
                    let (materialized, file) = (*materialized, cfg_file("contract"));
                    self.contract(i, props, materialized, relations, &what, file)
                }
                _ => None,
            };
            if contract.is_some() || docs.is_some() {
                self.nodes[i].ddl = Some(Arc::new(Ddl { contract, docs }));
            }
        }
    }

    fn persist_docs(&self, props: Option<&NodeProps>, relation: bool, columns: bool) -> Option<PersistDocs> {
        if !relation && !columns {
            return None;
        }
        let render = |raw: &str| self.templates.render_description(raw).unwrap_or_else(|_| raw.to_string());
        let description = props.and_then(|p| p.description.as_deref()).map(render).filter(|d| !d.is_empty());
        let documented = props.filter(|_| columns).map(|p| {
            let quote = |name: &str| p.column_props.iter().any(|c| c.name == name && c.quote);
            let text = |name: &str| p.column_descriptions.get(name).map(|d| render(d)).unwrap_or_default();
            p.columns.iter().map(|c| DocColumn { name: c.clone(), quote: quote(c), description: text(c) }).collect()
        });
        Some(PersistDocs { relation: description.filter(|_| relation), columns: documented.unwrap_or_default() })
    }

    /// A model's constraints checked, its foreign keys linked, and its
    /// contract when enforced on a model that is built.
    fn contract(
        &mut self,
        i: usize,
        props: Option<&NodeProps>,
        materialized: Materialized,
        relations: &Relations,
        what: &str,
        cfg_file: PathBuf,
    ) -> Option<Contract> {
        let (enforced, alias_types) = match contract_config(&self.nodes[i].config) {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(Diagnostic::in_file(cfg_file, format!("{what}: {e}")));
                return None;
            }
        };
        let Some(props) = props else {
            // No property entry: dbt fails the run with "its 'columns'
            // specification is missing", which the executor reports.
            return (enforced && materialized != Materialized::Ephemeral)
                .then(|| Contract { columns: Vec::new(), constraints: Vec::new() });
        };
        let (columns, model_level) = self.declared_constraints(props, what)?;
        self.check_primary_keys(props, &columns, &model_level, what)?;
        let all = columns.iter().flat_map(|d| &d.constraints).chain(&model_level);
        let targets: Vec<Target> = all.filter_map(|c| c.to.clone()).collect();
        let mut resolved = std::collections::BTreeMap::new();
        for t in targets {
            if let Some(rel) = self.foreign_key_target(i, &t, relations, props, what) {
                resolved.insert(t, rel);
            }
        }
        let any = columns.iter().any(|d| !d.constraints.is_empty()) || !model_level.is_empty();
        let line = props.constraints.as_ref().map(|(_, l)| *l).or(props.line);
        if !enforced {
            if any {
                self.warnings.push(
                    Diagnostic::in_file(&props.file, format!("{what}: its constraints have no effect without an enforced contract"))
                        .at(line, None)
                        .hint("add `contract: {enforced: true}` to its config to build them into the table (dbt ignores them silently)"),
                );
            }
            return None;
        }
        if props.column_props.is_empty() {
            self.errors.push(
                Diagnostic::in_file(
                    &props.file,
                    format!("{what}: its contract is enforced, but its property entry lists no columns"),
                )
                .at(props.line, None)
                .hint("list the model's columns with their `data_type` under `columns:`"),
            );
            return None;
        }
        let on_schema_change = self.nodes[i].config.get("on_schema_change").and_then(Value::as_str).unwrap_or("ignore");
        if materialized == Materialized::Incremental && !matches!(on_schema_change, "append_new_columns" | "fail") {
            self.errors.push(
                Diagnostic::in_file(&cfg_file, format!(
                    "{what}: an incremental model with an enforced contract must set `on_schema_change` to `append_new_columns` or `fail`, not `{on_schema_change}`"
                ))
                .hint("dbt refuses the other modes: they could drop or retype a contracted column"),
            );
            return None;
        }
        let builds_constraints = matches!(materialized, Materialized::Table | Materialized::Incremental);
        let unsupported = columns.iter().flat_map(|d| &d.constraints).chain(&model_level).any(|c| c.warn_unsupported);
        if !builds_constraints && unsupported {
            self.warnings.push(
                Diagnostic::in_file(&props.file, format!(
                    "{what}: Constraint types are not supported for {} materializations and will be ignored.  Set 'warn_unsupported: false' on this constraint to ignore this warning.",
                    materialized.as_str()
                ))
                .at(line, None),
            );
        }
        if materialized == Materialized::Ephemeral {
            return None;
        }
        self.naked_numeric(props, what);
        let to = |c: &Constraint| c.to.as_ref().and_then(|t| resolved.get(t)).map(String::as_str);
        let mut rendered_columns = Vec::new();
        for d in &columns {
            let Some(c) = d.column else { continue };
            let mut ddl = Vec::new();
            if builds_constraints {
                for k in &d.constraints {
                    self.droppable(k, false, what, &props.file, Some(c.line))?;
                    ddl.extend(constraints::render_column(k, to(k)));
                }
            }
            let data_type = c.data_type.clone().map(|t| {
                if alias_types && t.eq_ignore_ascii_case("string") {
                    "TEXT".into()
                } else {
                    t
                }
            });
            rendered_columns.push(ContractColumn { name: c.name.clone(), quote: c.quote, data_type, constraints: ddl });
        }
        let mut model_ddl = Vec::new();
        if builds_constraints {
            for k in &model_level {
                self.droppable(k, true, what, &props.file, line)?;
                model_ddl.extend(constraints::render_model(k, to(k)));
            }
        }
        Some(Contract { columns: rendered_columns, constraints: model_ddl })
    }

    /// Every column's constraints, then the model-level ones (last in the
    /// list); `None` after reporting a bad entry.
    fn declared_constraints<'p>(
        &mut self,
        props: &'p NodeProps,
        what: &str,
    ) -> Option<(Vec<Declared<'p>>, Vec<Constraint>)> {
        let mut out = Vec::new();
        let mut failed = false;
        let mut parse = |raw: &Value, model_level: bool, line: usize, on: String, this: &mut Self| {
            match constraints::parse_list(raw, model_level) {
                Ok((list, unknown)) => {
                    for k in unknown {
                        this.warnings.push(
                            Diagnostic::in_file(&props.file, format!("{what}: {on}constraint key `{k}` is not one dbt reads"))
                                .at(Some(line), None)
                                .hint(format!("a constraint takes {}", "`type`, `name`, `expression`, `to`, `to_columns`, `columns` (model level), `warn_unenforced`, `warn_unsupported`")),
                        );
                    }
                    Some(list)
                }
                Err(e) => {
                    this.errors.push(Diagnostic::in_file(&props.file, format!("{what}: {on}{e}")).at(Some(line), None));
                    failed = true;
                    None
                }
            }
        };
        for c in &props.column_props {
            let list = c
                .constraints
                .as_ref()
                .and_then(|raw| parse(raw, false, c.line, format!("column `{}`: ", c.name), self));
            out.push(Declared { column: Some(c), constraints: list.unwrap_or_default() });
        }
        let model_level = match &props.constraints {
            Some((raw, line)) => parse(raw, true, *line, String::new(), self).unwrap_or_default(),
            None => Vec::new(),
        };
        (!failed).then_some((out, model_level))
    }

    /// dbt's primary key rule: one column, or a model-level constraint, not both.
    fn check_primary_keys(
        &mut self,
        props: &NodeProps,
        columns: &[Declared],
        model_level: &[Constraint],
        what: &str,
    ) -> Option<()> {
        let pk_columns: Vec<&str> = columns
            .iter()
            .filter(|d| d.constraints.iter().any(|c| c.kind == Kind::PrimaryKey))
            .filter_map(|d| d.column.map(|c| c.name.as_str()))
            .collect();
        let message = if pk_columns.len() > 1 {
            let names: Vec<String> = pk_columns.iter().map(|n| format!("`{n}`")).collect();
            format!("{what}: {} columns ({}) have a primary key constraint", pk_columns.len(), names.join(", "))
        } else if !pk_columns.is_empty() && model_level.iter().any(|c| c.kind == Kind::PrimaryKey) {
            format!("{what}: a primary key is declared both on the model and on column `{}`", pk_columns[0])
        } else {
            return Some(());
        };
        self.errors.push(Diagnostic::in_file(&props.file, message).at(props.line, None).hint(
            "a primary key of several columns is one model-level constraint: `{type: primary_key, columns: [a, b]}`",
        ));
        None
    }

    /// The relation a foreign key's `to:` names, as text; the model now
    /// depends on it, as in dbt.
    fn foreign_key_target(
        &mut self,
        i: usize,
        t: &Target,
        relations: &Relations,
        props: &NodeProps,
        what: &str,
    ) -> Option<String> {
        let line = props.constraints.as_ref().map(|(_, l)| *l).or(props.line);
        let (id, rel) = match t {
            Target::Ref(name) => {
                let call = crate::template::RefCall::named(name);
                let id = self.names.find(&call, self.nodes[i].project()).cloned();
                let rel =
                    id.as_ref().and_then(|id| self.nodes.iter().find(|n| &n.id == id)).and_then(|n| n.relation.clone());
                (id, rel)
            }
            Target::Source(s, tb) => {
                let rel = relations.sources.get(&(s.clone(), tb.clone())).cloned();
                (rel.as_ref().map(|_| fqn::source_id(&self.project.name, s, tb)), rel)
            }
        };
        let (Some(id), Some(rel)) = (id, rel) else {
            let shown = match t {
                Target::Ref(n) => format!("ref('{n}')"),
                Target::Source(s, tb) => format!("source('{s}', '{tb}')"),
            };
            self.errors.push(
                Diagnostic::in_file(
                    &props.file,
                    format!("{what}: the foreign key constraint's `to: {shown}` names nothing in the project"),
                )
                .at(line, None),
            );
            return None;
        };
        let node = &mut self.nodes[i];
        if id != node.id {
            node.depends_on.insert(id.clone());
        }
        if let Some(w) = self.written.get_mut(&node.id) {
            if let Target::Ref(name) = t {
                w.refs.push(crate::template::RefCall::named(name));
            }
            if !w.depends_on.contains(&id) {
                w.depends_on.push(id);
            }
        }
        Some(rel.to_string())
    }

    /// A constraint dbt leaves out of the DDL is a warning; a foreign key
    /// with nothing to reference is an error (dbt writes `references None`).
    fn droppable(
        &mut self,
        c: &Constraint,
        model_level: bool,
        what: &str,
        file: &PathBuf,
        line: Option<usize>,
    ) -> Option<()> {
        let kind = c.kind.as_str();
        if constraints::incomplete_foreign_key(c) {
            self.errors.push(
                Diagnostic::in_file(
                    file,
                    format!("{what}: a `foreign_key` constraint needs `to` and `to_columns`, or an `expression`"),
                )
                .at(line, None)
                .hint("e.g. `{type: foreign_key, to: ref('customers'), to_columns: [id]}`"),
            );
            return None;
        }
        if let Some(why) = constraints::dropped_reason(c, model_level) {
            self.warnings.push(
                Diagnostic::in_file(
                    file,
                    format!("{what}: its `{kind}` constraint is left out of the table's DDL: {why}"),
                )
                .at(line, None),
            );
        }
        Some(())
    }

    /// dbt's warning for `numeric` / `decimal` without precision and scale.
    fn naked_numeric(&mut self, props: &NodeProps, what: &str) {
        let naked: Vec<String> = props
            .column_props
            .iter()
            .filter(|c| {
                c.data_type
                    .as_deref()
                    .is_some_and(|t| matches!(t.trim().to_lowercase().as_str(), "numeric" | "decimal" | "number"))
            })
            .map(|c| format!("'{}'", c.name))
            .collect();
        if !naked.is_empty() && props.column_props.iter().all(|c| c.data_type.is_some()) {
            self.warnings.push(
                Diagnostic::in_file(&props.file, format!(
                    "{what}: Detected columns with numeric type and unspecified precision/scale, this can lead to unintended rounding: [{}]",
                    naked.join(", ")
                ))
                .at(props.line, None)
                .hint("give the precision and scale, e.g. `decimal(18, 3)`"),
            );
        }
    }
}
