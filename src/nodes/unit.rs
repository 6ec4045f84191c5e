//! Planning unit tests: each `unit_tests:` declaration checked against the
//! project as dbt checks it when parsing (the model exists, an incremental
//! model gets a boolean `is_incremental` override and a `this` input), its
//! inputs resolved to the relations they stand in for, fixture files read
//! by name, and its config from the `unit_tests:` tree of `dbt_project.yml`.
//! A unit test is a node that depends on its model, as in dbt's graph; the
//! run plan puts it before the model in `build`. Part of the planner; no I/O.

use super::fqn::fqn_folders;
use super::{enabled, Node, NodeKind, Planner, Resource};
use crate::config_tree::ConfigMap;
use crate::diag::Diagnostic;
use crate::hooks::NodeHooks;
use crate::project::versions::ModelVersion;
use crate::template::relation::Relation;
use crate::template::RefCall;
use crate::unit_tests::{self, Input, Planned, PlannedInput, UnitTestDecl};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The parts of a planned model a unit test of it needs.
struct Tested {
    id: String,
    template: String,
    config: ConfigMap,
    relation: Relation,
    text: String,
    /// The model version, when the model is versioned.
    version: Option<ModelVersion>,
    python: bool,
}

impl Planner<'_> {
    /// Plans every enabled unit test after models are linked (their refs are known).
    pub(super) fn unit_tests(&mut self) {
        let project = self.project;
        for decl in &project.unit_tests {
            match self.unit_test(decl) {
                Ok(nodes) => {
                    for node in nodes {
                        let deps: Vec<String> = node.depends_on.iter().cloned().collect();
                        let id = node.id.clone();
                        self.nodes.push(node);
                        self.written.insert(id, super::AsWritten { depends_on: deps, ..Default::default() });
                    }
                }
                Err(d) => self.errors.push(d),
            }
        }
    }

    /// The nodes of one declaration: none when it (or its model) is
    /// disabled, one per tested version of a versioned model, as dbt makes
    /// them (`unit_test.<project>.<model>.<name>_v<v>`).
    fn unit_test(&mut self, decl: &UnitTestDecl) -> Result<Vec<Node>, Diagnostic> {
        let project = self.project;
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        let mut folders = fqn_folders(&self.original(&decl.file));
        folders.push(decl.model.clone());
        let own: ConfigMap = decl.config.clone().into_iter().collect();
        let cfg = self.root.node_config(project, |p| p.unit_test_tree.as_ref(), &folders, &decl.name, [own]);
        if !enabled(&cfg) {
            return Ok(Vec::new());
        }
        let versioned = project.versions.is_versioned(&decl.model);
        if !versioned && decl.versions.is_some() {
            return Err(err(format!(
                "unit test `{}` should not have a versions include or exclude when referencing non-versioned model `{}`",
                decl.name, decl.model
            )));
        }
        let ids: Vec<String> = if versioned {
            let chosen = |v: &ModelVersion| decl.versions.as_ref().is_none_or(|c| c.tests(&v.v));
            let planned: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| n.resource == Resource::Model && n.name == decl.model)
                .filter(|n| n.version.as_ref().is_some_and(chosen))
                .map(|n| n.id.clone())
                .collect();
            if planned.is_empty() {
                return Err(err(format!(
                    "unit test `{}` referenced a version of `{}` which was not found",
                    decl.name, decl.model
                ))
                .hint("`versions:` lists versions of the model that have a file and are enabled"));
            }
            planned
        } else {
            self.names
                .get(&project.name, &decl.model)
                .filter(|id| id.starts_with("model."))
                .cloned()
                .into_iter()
                .collect()
        };
        if ids.is_empty() {
            // A disabled model's unit tests are left out, as dbt leaves them (#10540).
            if project.models.iter().any(|m| m.name == decl.model) {
                return Ok(Vec::new());
            }
            return Err(err(format!(
                "unable to find model `{}.{}` for unit test `{}`",
                project.name, decl.model, decl.name
            ))
            .hint("`model:` names a model of this project"));
        }
        let mut out = Vec::new();
        for id in ids {
            let Some(tested) = self.tested(&id) else { continue };
            out.push(self.unit_test_of(decl, tested, cfg.clone())?);
        }
        Ok(out)
    }

    /// One unit test node of `decl` on the planned model (or model version) `tested`.
    fn unit_test_of(&mut self, decl: &UnitTestDecl, tested: Tested, cfg: ConfigMap) -> Result<Node, Diagnostic> {
        let project = self.project;
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        // dbt compiles a unit test by putting its rows in place of the
        // model's refs in its SQL; a Python model has none (dbt then fails
        // with a parser error when the test runs).
        if tested.python {
            return Err(err(format!(
                "unit test `{}`: `{}` is a Python model, and unit tests test SQL models only",
                decl.name, decl.model
            ))
            .hint("test the Python model with data tests, or unit-test the SQL models around it"));
        }
        // dbt asks for the override when the model calls `is_incremental()`.
        let calls_is_incremental = tested.text.contains("is_incremental");
        let over = decl.overrides.macros.get("is_incremental");
        let is_incremental = match over {
            Some(serde_yaml::Value::Bool(b)) => *b,
            _ if calls_is_incremental => {
                return Err(err(format!(
                    "boolean override for `is_incremental` must be provided for unit test `{}` in model `{}`",
                    decl.name, decl.model
                ))
                .hint("add `overrides: {macros: {is_incremental: true}}` (or false)"));
            }
            _ => false,
        };
        let has_this = decl.given.iter().any(|g| g.input == Input::This);
        if calls_is_incremental && is_incremental && !has_this {
            return Err(err(format!(
                "unit test `{}` for incremental model `{}` must have a 'this' input",
                decl.name, decl.model
            )));
        }
        let written = self.written.get(&tested.id).cloned().unwrap_or_default();
        let mut inputs = Vec::new();
        for g in &decl.given {
            let input = self.input(decl, g, &tested, &written)?;
            inputs.push(input);
        }
        let expect = unit_tests::resolve(&decl.expect, &project.fixtures, None).map_err(|e| fixture_error(decl, e))?;
        let planned = Planned {
            model_id: tested.id.clone(),
            model_name: decl.model.clone(),
            template: tested.template,
            model_config: tested.config,
            model_relation: tested.relation,
            inputs,
            expect,
            overrides: decl.overrides.clone(),
            is_incremental,
            description: decl.description.clone(),
            given: decl.given.clone(),
            expect_rows: decl.expect.clone(),
            expect_format: decl.expect_format,
            versions: decl.versions.clone(),
        };
        let suffix = tested.version.as_ref().map(|v| format!("_{}", v.v.formatted())).unwrap_or_default();
        Ok(Node {
            id: format!("unit_test.{}.{}.{}{suffix}", project.name, decl.model, decl.name),
            name: decl.name.clone(),
            resource: Resource::UnitTest,
            file: decl.file.clone(),
            original_file_path: self.original(&decl.file),
            depends_on: BTreeSet::from([tested.id]),
            relation: None,
            config: cfg,
            kind: NodeKind::UnitTest(Arc::new(planned)),
            hooks: NodeHooks::default(),
            version: tested.version,
            run: Default::default(),
            build: Default::default(),
            ddl: None,
        })
    }

    /// The planned model (or model version) with this unique id.
    fn tested(&self, id: &str) -> Option<Tested> {
        let node = self.nodes.iter().find(|n| n.id == id)?;
        let NodeKind::Model { template, python, .. } = &node.kind else { return None };
        let text = self.project.models.iter().find(|m| m.path == node.file).map(|m| m.text.clone()).unwrap_or_default();
        Some(Tested {
            id: id.to_string(),
            template: template.clone(),
            config: node.config.clone(),
            relation: self.real_relation(node),
            text,
            version: node.version.clone(),
            python: python.is_some(),
        })
    }

    /// Where a node is (or would be) built: an ephemeral's would-be relation.
    fn real_relation(&self, node: &Node) -> Relation {
        match &node.relation {
            Some(r) if !r.cte => r.clone(),
            _ => super::relation_for(self.target, &node.config, &node.name),
        }
    }

    fn input(
        &mut self,
        decl: &UnitTestDecl,
        g: &unit_tests::Given,
        tested: &Tested,
        written: &super::AsWritten,
    ) -> Result<PlannedInput, Diagnostic> {
        let project = self.project;
        let err = |msg: String| Diagnostic::in_file(&decl.file, msg).at(decl.line, None);
        let not_found = || {
            err(format!("unit test `{}` had an input (`{}`) which was not found in the project", decl.name, g.written))
                .hint("an input is `ref('<model or seed>')`, `source('<source>', '<table>')` or `this`")
        };
        let (name, relation, seed_file, read) = match &g.input {
            Input::This => (decl.model.clone(), tested.relation.clone(), None, true),
            Input::Ref(r) => {
                // `r` is the input's lookup key (`<name>.v<v>` for a pinned version).
                let call = RefCall::named(r);
                let id = self.names.find(&call, &project.name).cloned().ok_or_else(not_found)?;
                let node = self.nodes.iter().find(|n| n.id == id).ok_or_else(not_found)?;
                let seed = match &node.kind {
                    NodeKind::Seed { csv, .. } => Some(csv.clone()),
                    _ => None,
                };
                (r.clone(), self.real_relation(node), seed, written.refs.iter().any(|c| c.key() == *r))
            }
            Input::Source(s, t) => {
                let owner = self.source_owner(s, t, &project.name).and_then(|o| self.root.named(o));
                let src = owner.and_then(|o| o.sources.get(&(s.clone(), t.clone()))).ok_or_else(not_found)?;
                let db = src.database.clone().unwrap_or_else(|| self.target.database.clone());
                let read = written.depends_on.contains(&self.source_dep(s, t, &project.name));
                (t.clone(), Relation::new(&db, &src.schema, &src.identifier), None, read)
            }
        };
        if !read {
            // dbt accepts an input the model does not read, and uses it nowhere.
            self.warnings.push(err(format!(
                "unit test `{}`: model `{}` does not read input `{}`; its rows are not used",
                decl.name, decl.model, g.written
            )));
        }
        let fixture = unit_tests::resolve(&g.rows, &project.fixtures, seed_file.as_deref())
            .map_err(|e| fixture_error(decl, e))?;
        let cte = unit_tests::sql::cte_name(&relation.identifier);
        Ok(PlannedInput { input: g.input.clone(), name, relation, cte, fixture })
    }
}

fn fixture_error(decl: &UnitTestDecl, e: String) -> Diagnostic {
    Diagnostic::in_file(&decl.file, format!("unit test `{}`: {e}", decl.name))
        .at(decl.line, None)
        .hint("fixture files are `<test-path>/fixtures/<name>.csv` or `.sql`, named without the extension")
}

#[cfg(test)]
mod tests {
    use crate::nodes::{self, NodeKind, Resource};
    use crate::project::{self, env::Env, profile::Target};
    use crate::template::{Templates, Vars};
    use crate::unit_tests::{Cell, Fixture, Input};
    use std::collections::BTreeMap;
    use std::path::Path;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn plan(files: &[(&str, &str)]) -> Result<nodes::Plan, Vec<crate::diag::Diagnostic>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        write(r, "dbt_project.yml", "name: shop\nprofile: shop\nunit_tests:\n  shop:\n    +tags: [unit]\n    unit:\n      orders:\n        off:\n          +enabled: false\n");
        write(r, "seeds/raw.csv", "id,status\n1,placed\n");
        write(r, "models/stg.sql", "select id, status from {{ ref('raw') }}");
        write(r, "models/orders.sql", "select * from {{ ref('stg') }} where {{ var('v', 1) }} = 1");
        write(r, "tests/fixtures/rows.csv", "id,status\n2,shipped\n");
        for (rel, text) in files {
            write(r, rel, text);
        }
        let project = project::load(r).map_err(|e| e.clone())?;
        let target = Target {
            profile_name: "shop".into(),
            name: "dev".into(),
            kind: "duckdb".into(),
            path: r.join("w.duckdb"),
            database: "w".into(),
            schema: "main".into(),
            threads: 1,
            settings: BTreeMap::new(),
            extensions: Vec::new(),
            secrets: Vec::new(),
            external_root: ".".into(),
        };
        let templates = Templates::build(&project, &target, &Env::default(), Vars::default(), &[]).expect("templates");
        nodes::plan(&project, &target, &templates)
    }

    const TESTS: &str = "version: 2
unit_tests:
  - name: keeps_rows
    model: orders
    config: {tags: [mine]}
    given:
      - input: ref('stg')
        format: csv
        fixture: rows
      - input: ref('raw')
    expect:
      rows: [{id: 2}]
  - name: 'off'  # quoted: an unquoted off is YAML 1.1's false, as in dbt
    model: orders
    given: []
    expect: {rows: []}
";

    #[test]
    fn a_unit_test_is_a_node_under_its_model_with_its_inputs_resolved() {
        let plan = plan(&[("models/unit/tests.yml", TESTS)]).expect("plans");
        let units: Vec<&nodes::Node> = plan.nodes.iter().filter(|n| n.resource == Resource::UnitTest).collect();
        // `off` is disabled by the project's `unit_tests:` tree.
        assert_eq!(units.len(), 1);
        let u = units[0];
        assert_eq!(u.id, "unit_test.shop.orders.keeps_rows");
        assert_eq!(u.fqn(), vec!["shop", "unit", "orders", "keeps_rows"]);
        assert_eq!(u.depends_on.iter().collect::<Vec<_>>(), ["model.shop.orders"]);
        assert_eq!(crate::config_tree::as_strings(u.config.get("tags")), vec!["unit", "mine"]);
        let NodeKind::UnitTest(p) = &u.kind else { panic!("a unit test") };
        assert_eq!(p.inputs[0].input, Input::Ref("stg".into()));
        assert_eq!(p.inputs[0].cte, "__dbt__cte__stg");
        assert_eq!(p.inputs[0].relation.to_string(), "\"w\".\"main\".\"stg\"");
        let Fixture::Rows(rows) = &p.inputs[0].fixture else { panic!("csv rows") };
        assert_eq!(rows[0][1], ("status".to_string(), Cell::Text("shipped".into())));
        // A seed input without rows reads the seed's file when the test runs.
        assert!(matches!(&p.inputs[1].fixture, Fixture::SeedFile(f) if f.ends_with("seeds/raw.csv")));
        // `orders` does not read `raw`: dbt accepts it, runner says so.
        assert!(
            plan.warnings.iter().any(|w| w.message.contains("does not read input `ref('raw')`")),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn what_a_unit_test_names_must_exist() {
        let bad = |yaml: &str| {
            let errs = plan(&[("models/u.yml", yaml)]).err().expect("refused");
            errs.iter().map(|e| format!("{}:{}", e.line.unwrap_or(0), e.message)).collect::<Vec<_>>().join("\n")
        };
        let e = bad("unit_tests:\n  - name: t\n    model: nope\n    given: []\n    expect: {rows: []}\n");
        assert!(e.contains("2:unable to find model `shop.nope`"), "{e}");
        let e = bad("unit_tests:\n  - name: t\n    model: orders\n    given:\n      - input: source('a', 'b')\n        rows: []\n    expect: {rows: []}\n");
        assert!(e.contains("(`source('a', 'b')`) which was not found"), "{e}");
        let e = bad(
            "unit_tests:\n  - name: t\n    model: orders\n    given: []\n    expect: {format: csv, fixture: nope}\n",
        );
        assert!(e.contains("fixture file `nope` not found"), "{e}");
    }

    #[test]
    fn incremental_models_need_dbts_overrides() {
        let model = ("models/inc.sql", "select 1 as id {% if is_incremental() %} from {{ this }} {% endif %}");
        let errs = plan(&[
            model,
            ("models/u.yml", "unit_tests:\n  - name: t\n    model: inc\n    given: []\n    expect: {rows: []}\n"),
        ])
        .err()
        .expect("refused");
        assert!(errs[0].message.contains("boolean override for `is_incremental`"), "{errs:?}");
        let yaml = "unit_tests:\n  - name: t\n    model: inc\n    overrides: {macros: {is_incremental: true}}\n    given: []\n    expect: {rows: []}\n";
        let errs = plan(&[model, ("models/u.yml", yaml)]).err().expect("refused");
        assert!(errs[0].message.contains("must have a 'this' input"), "{errs:?}");
        let yaml = "unit_tests:\n  - name: t\n    model: inc\n    overrides: {macros: {is_incremental: true}}\n    given:\n      - input: this\n        rows: []\n    expect: {rows: []}\n";
        let plan = plan(&[model, ("models/u.yml", yaml)]).expect("plans");
        let u = plan.nodes.iter().find(|n| n.resource == Resource::UnitTest).expect("unit test");
        let NodeKind::UnitTest(p) = &u.kind else { panic!("a unit test") };
        assert!(p.is_incremental);
        assert_eq!(p.inputs[0].cte, "__dbt__cte__inc");
    }
}
