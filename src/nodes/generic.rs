//! Planning generic tests declared in property YAML: resolving what they
//! test, dbt's names and unique ids, config from the `data_tests:` tree,
//! `store_failures`, and the failing-rows SQL — the built-in tests' own SQL,
//! or a custom `{% test %}` macro rendered with dbt's keyword arguments.
//! Part of the planner; no I/O.

use super::fqn::fqn_folders;
use super::{enabled, yaml_scalar, Node, NodeKind, Planner, Resource, TestSql, BUILTIN_TESTS};
use crate::config_tree::{self, get_str, ConfigMap};
use crate::data_tests::naming::{generic_test_names, NamingInput, TestTarget};
use crate::data_tests::{self, quote_ident, GenericTest, StoreFailures};
use crate::data_tests::{Severity, TestConfig};
use crate::diag::Diagnostic;
use crate::par;
use crate::project::{Attached, TestDecl};
use crate::template::relation::Relation;
use crate::template::{RefCall, Relations};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// dbt renders a test argument that looks like one of these calls as Jinja.
fn looks_like_call(text: &str) -> bool {
    let t = text.trim();
    ["env_var", "ref", "var", "source", "doc"].iter().any(|f| {
        t.strip_prefix(f)
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('('))
            .is_some_and(|rest| rest.len() > 1 && rest.ends_with(')'))
    })
}

/// A YAML argument as a Jinja expression: calls such as `ref('x')` stay
/// code, everything else becomes a literal.
fn jinja_literal(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if looks_like_call(s) => s.trim().to_string(),
        Value::String(s) => json_string(s),
        Value::Sequence(items) => format!("[{}]", items.iter().map(jinja_literal).collect::<Vec<_>>().join(", ")),
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", json_string(&crate::data_tests::naming::py_str(k)), jinja_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tagged(t) => jinja_literal(&t.value),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `store_failures` / `store_failures_as` of a test's merged config.
pub(super) fn store_failures(
    cfg: &ConfigMap,
    target_db: &str,
    target_schema: &str,
    alias: &str,
) -> Option<StoreFailures> {
    let as_view = match get_str(cfg, "store_failures_as").map(str::to_ascii_lowercase).as_deref() {
        Some("view") => true,
        Some("table") => false,
        Some(_) => return None,
        None => {
            if !cfg.get("store_failures").and_then(Value::as_bool).unwrap_or(false) {
                return None;
            }
            false
        }
    };
    // The audit schema is the test's custom schema, `dbt_test__audit` by default,
    // appended to the target schema like every custom schema.
    let custom = get_str(cfg, "schema").unwrap_or("dbt_test__audit");
    let schema = format!("{target_schema}_{}", custom.trim());
    let database = get_str(cfg, "database").unwrap_or(target_db);
    let alias = get_str(cfg, "alias").unwrap_or(alias);
    Some(StoreFailures {
        relation: Relation::new(database, &schema, alias).to_string(),
        schema: format!("{}.{}", quote_ident(database), quote_ident(&schema)),
        as_view,
    })
}

/// What one test declaration plans to.
enum Planned {
    Node(Box<Node>),
    /// Disabled, or testing a disabled node.
    Nothing,
    /// Testing a node that does not exist: dbt warns and plans no test.
    Warning(Diagnostic),
}

impl Planner<'_> {
    /// Plans every generic test of the project. Each declaration is planned
    /// on its own (names, config, SQL), so they are planned on every core;
    /// nodes and errors are kept in declaration order either way.
    pub(super) fn generic_tests(&mut self, relations: &Arc<Relations>) {
        let decls: Vec<(usize, &TestDecl)> = self.project.tests.iter().enumerate().collect();
        let this = &*self;
        let planned = par::map(&decls, |&(i, decl)| this.generic_test(i, decl, relations));
        self.nodes.reserve(planned.len());
        for outcome in planned {
            match outcome {
                Ok(Planned::Node(node)) => self.nodes.push(*node),
                Ok(Planned::Nothing) => {}
                Ok(Planned::Warning(d)) => self.warnings.push(d),
                Err(d) => self.errors.push(d),
            }
        }
    }

    /// The node of one declaration (`index` into the project's tests), none
    /// when it is disabled or tests a disabled model.
    fn generic_test(&self, index: usize, decl: &TestDecl, relations: &Arc<Relations>) -> Result<Planned, Diagnostic> {
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        let project = self.project.name.clone();
        let scope = self.scope();
        // A property file's tests belong to its own project's nodes; what
        // they read is what dbt's generated `ref('m')` / `source('s', 't')`
        // finds from that project, the root project's first (as dbt, which
        // tests the root's `m` when a package and the root both have one).
        let call = |m: &String| RefCall { package: None, name: m.clone(), version: decl.version.clone() };
        let (target, tested, parent) = match &decl.attached {
            Attached::Model(m) => {
                // A version's tests test that version's node (`<model>.v<v>` in the ref lookup).
                let key = call(m).key();
                let target =
                    TestTarget::Model { name: m.clone(), version: decl.version.as_ref().map(|v| v.text.clone()) };
                match (
                    relations.find_ref(&call(m), scope),
                    self.names.find(&call(m), &project).filter(|_| self.names.get(&project, &key).is_some()),
                ) {
                    (Some(r), Some(id)) => (target, r.clone(), id.clone()),
                    _ => {
                        // A test on a disabled model is dropped, as dbt does.
                        if self.disabled_here(m, decl.version.as_ref()) {
                            return Ok(Planned::Nothing);
                        }
                        // dbt warns and drops the test (it may belong to a model
                        // that was removed, or a version with no file), and so do we.
                        return Ok(Planned::Warning(err(format!(
                            "test `{}` depends on a node named `{key}`, which was not found",
                            decl.test
                        ))));
                    }
                }
            }
            Attached::Source(s, t) => match relations.source_in(&project, s, t) {
                Some(own) => {
                    let r = relations.find_source(s, t, scope).unwrap_or(own).clone();
                    (TestTarget::Source { source: s.clone(), table: t.clone() }, r, self.source_dep(s, t, &project))
                }
                None => return Ok(Planned::Nothing),
            },
        };
        let mut name_args = decl.args.clone();
        if let Some(c) = &decl.column {
            name_args.insert("column_name".into(), Value::String(c.clone()));
        }
        let names = generic_test_names(&NamingInput {
            project: &project,
            test: &decl.test,
            namespace: decl.namespace.as_deref(),
            target: &target,
            args: &name_args,
            custom_name: decl.custom_name.as_deref(),
        });
        // Most projects configure no tests in dbt_project.yml: then there is
        // no tree to walk, and no fqn to build for each of their tests.
        let mut cfg = match (self.project.test_tree.as_ref(), self.root.test_tree.as_ref()) {
            (None, None) => decl.config.clone(),
            _ => {
                let folders = fqn_folders(&self.original(&decl.file));
                self.root.node_config(
                    self.project,
                    |p| p.test_tree.as_ref(),
                    &folders,
                    &names.name,
                    [decl.config.clone()],
                )
            }
        };
        // As dbt does, a shortened name becomes the test's alias unless one is configured.
        if names.alias != names.name && !cfg.contains_key("alias") {
            cfg.insert("alias".into(), Value::String(names.alias.clone()));
        }
        if !enabled(&cfg) {
            return Ok(Planned::Nothing);
        }
        // The alias names the test's SQL file (`target/compiled/…/schema.yml/<alias>.sql`).
        let file_alias = config_tree::get_str(&cfg, "alias").unwrap_or(&names.name);
        if let Err(e) = crate::project::ids::check_file_name(file_alias) {
            return Err(err(format!("test `{}`: {e}", names.name)));
        }
        let mut tcfg = match test_config(&cfg) {
            Ok(c) => c,
            Err(e) => {
                return Err(err(e));
            }
        };
        tcfg.store_failures = store_failures(&cfg, &self.target.database, &self.target.schema, &names.alias);
        let relation_expr = data_tests::tested_relation(&tested.to_string(), tcfg.where_clause.as_deref());
        let mut deps = BTreeSet::from([parent]);
        let custom = self.templates.generic_test_macro(decl.namespace.as_deref(), &decl.test, scope);
        let sql = if let Some(callee) = custom {
            let used_where = tcfg.where_clause.clone().filter(|w| !w.trim().is_empty());
            let model = match (&used_where, &decl.attached) {
                (Some(_), _) => json_string(&relation_expr),
                (_, Attached::Model(m)) => match &decl.version {
                    // dbt's own `model` argument of a version's test: `ref('m', version='2')`.
                    Some(v) => format!("ref({}, version={})", json_string(m), json_string(&v.text)),
                    None => format!("ref({})", json_string(m)),
                },
                (_, Attached::Source(s, t)) => format!("source({}, {})", json_string(s), json_string(t)),
            };
            match self.render_custom(decl, &callee, &model, &tested, &mut deps) {
                Ok((sql, macro_config)) if macro_config.is_empty() => sql,
                Ok((sql, macro_config)) => {
                    // The macro's own `config()` gives defaults; the project tree
                    // and the YAML `config:` override them.
                    let mut merged: ConfigMap = macro_config.into_iter().collect();
                    config_tree::merge(&mut merged, std::mem::take(&mut cfg));
                    cfg = merged;
                    let store = tcfg.store_failures.take();
                    tcfg = match test_config(&cfg) {
                        Ok(c) => c,
                        Err(e) => {
                            return Err(err(e));
                        }
                    };
                    tcfg.store_failures = store
                        .or_else(|| store_failures(&cfg, &self.target.database, &self.target.schema, &names.alias));
                    // A `where` the macro's `config()` set filters the `model`
                    // argument as one from YAML would: render again with it.
                    let new_where = tcfg.where_clause.clone().filter(|w| !w.trim().is_empty());
                    if new_where == used_where {
                        sql
                    } else {
                        let expr = data_tests::tested_relation(&tested.to_string(), new_where.as_deref());
                        match self.render_custom(decl, &callee, &json_string(&expr), &tested, &mut deps) {
                            Ok((sql, _)) => sql,
                            Err(d) => {
                                return Err(d);
                            }
                        }
                    }
                }
                Err(d) => {
                    return Err(d);
                }
            }
        } else if BUILTIN_TESTS.contains(&decl.test.as_str()) {
            match self.builtin(decl, &tested, relations, &mut deps) {
                Ok(test) => match &decl.column {
                    Some(column) => TestSql::Ready(data_tests::failing_rows_sql(&test, &relation_expr, column)),
                    None => {
                        return Err(err(format!("test `{}` needs a column (put it under `columns:`)", decl.test)));
                    }
                },
                Err(d) => {
                    return Err(d);
                }
            }
        } else {
            return Err(err(format!("unknown generic test `{}`: no macro `test_{}`", decl.test, decl.test)).hint(
                format!(
                    "define it with `{{% test {}(model, column_name) %}}` in `macros/` or `tests/generic/`, or fix the name; built in: `not_null`, `unique`, `accepted_values`, `relationships`",
                    decl.test
                ),
            ));
        };
        Ok(Planned::Node(Box::new(Node {
            id: names.unique_id,
            name: names.name,
            resource: Resource::Test,
            file: decl.file.clone(),
            original_file_path: self.original(&decl.file),
            depends_on: deps,
            relation: None,
            config: cfg,
            kind: NodeKind::GenericTest { sql, cfg: tcfg, decl: index },
            hooks: Default::default(),
            version: None,
            run: Default::default(),
            build: Default::default(),
            ddl: None,
        })))
    }

    /// Adds the ids of `refs` to `deps`; an unknown name is an error at the test.
    fn ref_deps(&self, decl: &TestDecl, refs: &[RefCall], deps: &mut BTreeSet<String>) -> Result<(), Diagnostic> {
        for r in refs {
            match self.names.find(r, &self.project.name) {
                Some(id) => {
                    deps.insert(id.clone());
                }
                None => {
                    return Err(Diagnostic::in_file(&decl.file, format!("unknown `{r}` in test `{}`", decl.test))
                        .at(decl.line, None))
                }
            }
        }
        Ok(())
    }

    /// A custom generic test: its macro called as dbt calls it, with `model`,
    /// `column_name` and the YAML arguments as keyword arguments. This is
    /// dbt's parse of the test (`execute` false: its refs, sources and
    /// `config()`); the SQL is rendered when the test runs.
    fn render_custom(
        &self,
        decl: &TestDecl,
        callee: &str,
        model: &str,
        tested: &Relation,
        deps: &mut BTreeSet<String>,
    ) -> Result<(TestSql, BTreeMap<String, Value>), Diagnostic> {
        let mut kwargs: BTreeMap<String, String> = BTreeMap::new();
        kwargs.insert("model".into(), model.to_string());
        if let Some(c) = &decl.column {
            // dbt never renders the column name: it is SQL as written.
            kwargs.insert("column_name".into(), json_string(c));
        }
        let fail = |e: String| {
            Diagnostic::in_file(&decl.file, format!("cannot render test `{}`: {e}", decl.test)).at(decl.line, None)
        };
        for (k, v) in &decl.args {
            // dbt renders a string argument written as Jinja before passing it.
            let rendered = match v {
                Value::String(text) if text.contains("{{") || text.contains("{%") => Value::String(
                    self.templates.render_config_str_in(self.scope(), text).map_err(|e| fail(format!("`{k}`: {e}")))?,
                ),
                _ => v.clone(),
            };
            kwargs.insert(k.clone(), jinja_literal(&rendered));
        }
        let call =
            format!("{callee}({})", kwargs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
        let (_, rec) = self.templates.eval_arg(&call, tested, None, self.scope()).map_err(fail)?;
        self.ref_deps(decl, &rec.refs, deps)?;
        for (s, t) in &rec.sources {
            deps.insert(self.source_dep(s, t, &self.project.name));
        }
        let package = self.scope().map(str::to_string);
        Ok((TestSql::Call { call, this: tested.clone(), package }, rec.config))
    }

    /// One of dbt's four built-in tests with its arguments checked.
    fn builtin(
        &self,
        decl: &TestDecl,
        tested: &Relation,
        relations: &Arc<Relations>,
        deps: &mut BTreeSet<String>,
    ) -> Result<GenericTest, Diagnostic> {
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        let arg_str =
            |k: &str| decl.args.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| super::yaml_scalar(v)));
        Ok(match decl.test.as_str() {
            "not_null" => GenericTest::NotNull,
            "unique" => GenericTest::Unique,
            "accepted_values" => match decl.args.get("values") {
                Some(Value::Sequence(values)) => GenericTest::AcceptedValues {
                    values: values.clone(),
                    quote: decl.args.get("quote").and_then(Value::as_bool).unwrap_or(true),
                },
                _ => return Err(err("`accepted_values` needs `values: [...]`".into())),
            },
            _ => {
                let (Some(to), Some(field)) = (arg_str("to"), arg_str("field")) else {
                    return Err(err("`relationships` needs `to:` and `field:`".into()));
                };
                // The usual `to: ref('customers')` needs no Jinja: evaluating it
                // was most of planning a relationships test.
                if let Some(name) = plain_ref(&to) {
                    let call = RefCall::named(name);
                    self.ref_deps(decl, std::slice::from_ref(&call), deps)?;
                    if let Some(rel) = relations.find_ref(&call, self.scope()) {
                        return Ok(GenericTest::Relationships { to: rel.to_string(), field });
                    }
                }
                let (_, rec) = self
                    .templates
                    .eval_arg(&to, tested, None, self.scope())
                    .map_err(|e| err(format!("cannot evaluate `to: {to}`: {e}")))?;
                self.ref_deps(decl, &rec.refs, deps)?;
                for (s, t) in &rec.sources {
                    deps.insert(self.source_dep(s, t, &self.project.name));
                }
                let (to, _) = self
                    .templates
                    .eval_arg(&to, tested, Some(relations), self.scope())
                    .map_err(|e| err(format!("cannot evaluate `to: {to}`: {e}")))?;
                GenericTest::Relationships { to, field }
            }
        })
    }
}

/// The name in `ref('name')` when that is the whole expression.
fn plain_ref(expr: &str) -> Option<&str> {
    let inner = expr.trim().strip_prefix("ref(")?.strip_suffix(')')?.trim();
    let quote = inner.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let name = inner.strip_prefix(quote)?.strip_suffix(quote)?;
    (!name.is_empty() && !name.contains(['\'', '"', '\\'])).then_some(name)
}

/// A test's `severity`, `warn_if`, `error_if`, `fail_calc`, `where` and `limit`.
pub(super) fn test_config(cfg: &ConfigMap) -> Result<TestConfig, String> {
    let mut t = TestConfig::default();
    if let Some(s) = get_str(cfg, "severity") {
        t.severity = match s.to_ascii_lowercase().as_str() {
            "warn" => Severity::Warn,
            "error" => Severity::Error,
            _ => return Err(format!("unknown severity `{s}` (use `warn` or `error`)")),
        };
    }
    let text = |k: &str| cfg.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| yaml_scalar(v)));
    if let Some(v) = text("warn_if") {
        t.warn_if = v;
    }
    if let Some(v) = text("error_if") {
        t.error_if = v;
    }
    if let Some(v) = text("fail_calc") {
        t.fail_calc = v;
    }
    t.where_clause = text("where");
    t.limit = cfg.get("limit").and_then(Value::as_u64);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_ref_of_one_quoted_name_is_plain() {
        assert_eq!(plain_ref("ref('customers')"), Some("customers"));
        assert_eq!(plain_ref(" ref( \"customers\" ) "), Some("customers"));
        for expr in ["ref('a', 'b')", "ref('a') ~ ref('b')", "ref(name)", "ref('')", "ref('a\\'b')", "source('s', 't')"]
        {
            assert_eq!(plain_ref(expr), None, "{expr}");
        }
    }

    #[test]
    fn calls_are_code_and_everything_else_literals() {
        assert!(looks_like_call("ref('customers')"));
        assert!(looks_like_call("  source('raw', 'orders') "));
        assert!(looks_like_call("var ('x')"));
        assert!(!looks_like_call("refund"));
        assert!(!looks_like_call("ref()"));
        let v: Value = serde_yaml::from_str("[1, a, \"it's\", true, null, {k: ref('m')}]").expect("yaml");
        assert_eq!(jinja_literal(&v), "[1, \"a\", \"it's\", true, none, {\"k\": ref('m')}]");
    }

    #[test]
    fn store_failures_relation_follows_dbt_duckdb() {
        let mut cfg = ConfigMap::new();
        assert_eq!(store_failures(&cfg, "db", "main", "t"), None);
        cfg.insert("store_failures".into(), Value::Bool(true));
        let s = store_failures(&cfg, "db", "main", "t").expect("stored");
        assert_eq!(s.relation, "\"db\".\"main_dbt_test__audit\".\"t\"");
        assert_eq!(s.schema, "\"db\".\"main_dbt_test__audit\"");
        assert!(!s.as_view);
        cfg.insert("schema".into(), Value::String("audit".into()));
        cfg.insert("store_failures_as".into(), Value::String("view".into()));
        let s = store_failures(&cfg, "db", "main", "t").expect("stored");
        assert_eq!((s.relation.as_str(), s.as_view), ("\"db\".\"main_audit\".\"t\"", true));
        cfg.insert("store_failures_as".into(), Value::String("ephemeral".into()));
        assert_eq!(store_failures(&cfg, "db", "main", "t"), None);
    }
}
