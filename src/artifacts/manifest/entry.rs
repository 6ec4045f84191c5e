//! One node's entry in `manifest.json`, written straight to JSON text
//! through [`Fields`] (see `fields` for why). Owns the fields of a node's
//! entry and dbt's config defaults; the document around the entries is
//! `write`'s, the sources and maps the parent module's, run hooks'
//! entries `operation`'s.

use super::fields::{opt, s, Fields, DOCS, F, NULL};
use super::{describe, props, target_rel, yaml_json, Inputs, Texts};
use crate::artifacts::layout::Layout;
use crate::nodes::fqn::source_id;
use crate::nodes::{Node, NodeKind, Resource};
use crate::project::Attached;
use serde_json::Value;

/// dbt's defaults of a node's config by resource (seed, model, test),
/// without `materialized`: built once, cloned per node, as inserting them one
/// by one was most of the cost of a node's config.
pub(super) fn config_defaults(resource: Resource) -> &'static Fields<'static> {
    static DEFAULTS: std::sync::OnceLock<[Fields<'static>; 4]> = std::sync::OnceLock::new();
    let [seed, model, snapshot, test] = DEFAULTS.get_or_init(|| {
        let common = [
            ("enabled", F::Raw("true")),
            ("alias", NULL),
            ("schema", NULL),
            ("database", NULL),
            ("tags", F::Raw("[]")),
            ("meta", F::Raw("{}")),
            ("group", NULL),
        ];
        let test = [
            ("severity", s("ERROR")),
            ("store_failures", NULL),
            ("store_failures_as", NULL),
            ("where", NULL),
            ("limit", NULL),
            ("fail_calc", s("count(*)")),
            ("warn_if", s("!= 0")),
            ("error_if", s("!= 0")),
            ("schema", s("dbt_test__audit")),
        ];
        let built = [
            ("persist_docs", F::Raw("{}")),
            ("post-hook", F::Raw("[]")),
            ("pre-hook", F::Raw("[]")),
            ("quoting", F::Raw("{}")),
            ("column_types", F::Raw("{}")),
            ("full_refresh", NULL),
            ("unique_key", NULL),
            ("on_schema_change", s("ignore")),
            ("on_configuration_change", s("apply")),
            ("grants", F::Raw("{}")),
            ("packages", F::Raw("[]")),
            ("docs", DOCS),
            ("contract", F::Raw(r#"{"alias_types":true,"enforced":false}"#)),
            ("incremental_strategy", NULL),
            ("batch_size", NULL),
            ("lookback", F::Raw("1")),
            ("begin", NULL),
            ("event_time", NULL),
            ("concurrent_batches", NULL),
        ];
        let seed = [("delimiter", s(",")), ("quote_columns", NULL)];
        let model = [("access", s("protected")), ("freshness", NULL)];
        let snapshot = [
            ("strategy", NULL),
            ("target_schema", NULL),
            ("target_database", NULL),
            ("updated_at", NULL),
            ("check_cols", NULL),
            ("dbt_valid_to_current", NULL),
            (
                "snapshot_meta_column_names",
                F::Raw(r#"{"dbt_is_deleted":null,"dbt_scd_id":null,"dbt_updated_at":null,"dbt_valid_from":null,"dbt_valid_to":null}"#),
            ),
        ];
        // In key order, as written: a node's few own keys then sort fast.
        let sorted =
            |fields: Vec<(&'static str, F<'static>)>| Fields(Fields(fields).sorted().into_iter().cloned().collect());
        [
            sorted(common.iter().chain(&built).chain(&seed).cloned().collect()),
            sorted(common.iter().chain(&built).chain(&model).cloned().collect()),
            sorted(common.iter().chain(&built).chain(&snapshot).cloned().collect()),
            sorted(common.iter().chain(&test).cloned().collect()),
        ]
    });
    match resource {
        Resource::Seed => seed,
        Resource::Model => model,
        Resource::Snapshot => snapshot,
        Resource::Test | Resource::UnitTest => test,
    }
}

/// dbt's default of a model config field (`on_schema_change` → `"ignore"`),
/// or `None` for a key that is no field of dbt's `ModelConfig`: what a
/// Python model's `dbt.config.get(key)` returns when the key is unset.
pub(crate) fn model_config_default(key: &str) -> Option<Value> {
    config_defaults(Resource::Model).get(key).map(F::to_value)
}

/// A node's config as dbt's `config.get` reads it while the node runs
/// (its `config` in the manifest): dbt's defaults for its resource type,
/// `materialized` as planned, then what the project set. Built at every
/// node's render, so the defaults are converted once per resource type.
pub(crate) fn render_config(node: &Node) -> crate::config_tree::ConfigMap {
    use serde_yaml::Value as Y;
    static DEFAULTS: std::sync::OnceLock<[crate::config_tree::ConfigMap; 4]> = std::sync::OnceLock::new();
    let convert = |r: Resource| -> crate::config_tree::ConfigMap {
        let fields = config_defaults(r);
        fields.0.iter().filter_map(|(k, f)| Some((k.to_string(), serde_yaml::to_value(f.to_value()).ok()?))).collect()
    };
    let [seed, model, snapshot, test] = DEFAULTS.get_or_init(|| {
        [convert(Resource::Seed), convert(Resource::Model), convert(Resource::Snapshot), convert(Resource::Test)]
    });
    let mut out = match node.resource {
        Resource::Seed => seed,
        Resource::Model => model,
        Resource::Snapshot => snapshot,
        Resource::Test | Resource::UnitTest => test,
    }
    .clone();
    out.insert("materialized".into(), Y::from(materialized_of(node)));
    out.extend(node.config.iter().map(|(k, v)| (k.clone(), v.clone())));
    // The same normalizing as the manifest's `config` ([`config`]).
    if let Some(Y::Mapping(c)) = out.get_mut("contract") {
        c.entry(Y::from("alias_types")).or_insert(Y::Bool(true));
        c.entry(Y::from("enforced")).or_insert(Y::Bool(false));
    }
    if node.resource == Resource::Test {
        if let Some(upper) = out.get("severity").and_then(Y::as_str).map(str::to_ascii_uppercase) {
            out.insert("severity".into(), Y::from(upper));
        }
    }
    if let Some(tag) = out.get("tags").and_then(Y::as_str).map(str::to_string) {
        out.insert("tags".into(), Y::Sequence(vec![Y::from(tag)]));
    }
    out
}

fn materialized_of(node: &Node) -> &str {
    match &node.kind {
        NodeKind::Model { materialized, .. } => materialized.as_str(),
        NodeKind::Seed { .. } => "seed",
        NodeKind::Snapshot { .. } => "snapshot",
        _ => "test",
    }
}

/// dbt's config of a node: its defaults, then what the project set.
fn config<'a>(node: &'a Node, alias: &str) -> Fields<'a> {
    let materialized = materialized_of(node);
    let mut base: Fields = config_defaults(node.resource).clone();
    base.insert("materialized", s(materialized));
    for (k, v) in &node.config {
        base.insert(k, F::Value(yaml_json(v)));
    }
    // dbt's `contract` config always holds both of its keys.
    if let Some(F::Value(Value::Object(c))) = base.get("contract") {
        let mut c = c.clone();
        c.entry("alias_types").or_insert(Value::Bool(true));
        c.entry("enforced").or_insert(Value::Bool(false));
        base.insert("contract", F::Value(Value::Object(c)));
    }
    if node.resource == Resource::Test {
        if let Some(upper) = base.get("severity").and_then(F::as_str).map(str::to_ascii_uppercase) {
            base.insert("severity", s(upper));
        }
        if alias != node.name {
            base.insert("alias", s(alias.to_string()));
        }
    }
    if let Some(tag) = base.get("tags").and_then(F::as_str).map(str::to_string) {
        base.insert("tags", F::List(vec![s(tag)]));
    }
    base
}

/// The fields of a node's entry that name it; [`node`] starts from these.
pub(super) fn identity<'a>(node: &'a Node) -> Fields<'a> {
    let mut fields = Fields::from([
        ("name", s(node.name.as_str())),
        ("resource_type", s(node.resource.as_str())),
        ("package_name", s(node.project())),
        ("original_file_path", s(node.original_file_path.display().to_string())),
        ("unique_id", s(node.id.as_str())),
        ("fqn", F::List(node.fqn().into_iter().map(s).collect())),
    ]);
    // A model's version names it too (`ls --output name` prints `<name>.v<v>`).
    if node.resource == Resource::Model {
        fields.insert("version", node.version.as_ref().map(|v| F::Value(v.v.json.clone())).unwrap_or(NULL));
    }
    fields
}

fn columns<'a>(inputs: &Inputs<'a>, node: &Node) -> F<'a> {
    let mut cols = Fields::new();
    if let Some(p) = props(inputs.project, node) {
        for c in &p.columns {
            let description = p.column_descriptions.get(c).map(|d| describe(inputs, d)).unwrap_or_default();
            let declared = p.column_props.iter().find(|d| &d.name == c);
            let data_type = declared.and_then(|d| d.data_type.as_deref()).map_or(NULL, s);
            let constraints = declared.and_then(|d| d.constraints.as_ref());
            let quote = declared.filter(|d| d.quote).map_or(NULL, |_| F::Raw("true"));
            let meta = declared.map_or(serde_json::json!({}), |d| serde_json::json!(d.meta));
            let tags = declared.map_or(serde_json::json!([]), |d| serde_json::json!(d.tags));
            let col = Fields::from([
                ("name", s(c.as_str())),
                ("description", s(description)),
                ("meta", F::Value(meta.clone())),
                ("data_type", data_type),
                ("constraints", F::Value(crate::nodes::contract::manifest_constraints(constraints, false))),
                ("quote", quote),
                ("config", F::Value(serde_json::json!({"meta": meta, "tags": tags}))),
                ("tags", F::Value(tags)),
                ("granularity", NULL),
                ("doc_blocks", F::Raw("[]")),
            ]);
            cols.insert(c.as_str(), F::Obj(col));
        }
    }
    F::Obj(cols)
}

/// dbt's `FileHash` of the node's file; a generic test has none.
fn checksum<'a>(node: &Node, checksums: &'a super::checksum::Checksums<'a>) -> F<'a> {
    let found = match node.kind {
        NodeKind::GenericTest { .. } => None,
        _ => checksums.files.get(node.file.as_path()),
    };
    let (name, sum) = found.map_or(("none", ""), |(n, c)| (*n, c.as_str()));
    F::Obj(Fields::from([("name", s(name)), ("checksum", s(sum))]))
}

/// A node's whole entry.
pub(super) fn node<'a>(
    node: &'a Node,
    inputs: &Inputs<'a>,
    layout: &Layout<'a>,
    texts: &Texts<'a>,
    checksums: &'a super::checksum::Checksums<'a>,
) -> Fields<'a> {
    let root = inputs.project;
    let project = super::owner(root, node);
    let alias = layout.alias(node);
    // An ephemeral is a CTE: dbt still names the database and schema it
    // would be built in, and no relation.
    let ephemeral_at = node
        .relation
        .as_ref()
        .filter(|r| r.cte)
        .map(|_| crate::nodes::relation_for(inputs.target, &node.config, &node.name));
    let alias = ephemeral_at.as_ref().map(|r| r.identifier.clone()).unwrap_or(alias);
    let relation = ephemeral_at.as_ref().or(node.relation.as_ref());
    let config = config(node, &alias);
    let (database, schema) = match relation {
        Some(r) => (r.database.clone(), r.schema.clone()),
        None => {
            let custom = config.get("schema").and_then(F::as_str).unwrap_or("dbt_test__audit");
            (inputs.target.database.clone(), format!("{}_{custom}", inputs.target.schema))
        }
    };
    // `depends_on` holds ref edges (as written: ephemerals too) and the ids of
    // the sources a node reads: in the SQL's order where it was recorded.
    let written = inputs.plan.written.get(&node.id);
    let parents: Vec<&'a str> = match written {
        Some(w) => w.depends_on.iter().map(String::as_str).collect(),
        None => inputs.plan.declared_deps(node).iter().map(String::as_str).collect(),
    };
    let raw_code = match &node.kind {
        NodeKind::Seed { .. } => String::new(),
        NodeKind::GenericTest { .. } => match layout.generic_decl(node) {
            // dbt's generated body; a shortened name adds its alias config.
            Some(d) if alias != node.name => {
                format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}{{{{ config(alias=\"{alias}\") }}}}", d.test)
            }
            Some(d) => format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", d.test),
            None => String::new(),
        },
        // One file may hold several snapshots: each has its own block's body.
        NodeKind::Snapshot { .. } => {
            project.snapshots.iter().find(|s| s.name == node.name).map(|s| s.raw_code.clone()).unwrap_or_default()
        }
        _ => texts.get(node.file.as_path()).map(|t| t.trim_end().to_string()).unwrap_or_default(),
    };
    let node_props = props(root, node);
    let mut m = identity(node);
    m.extend([
        ("database", s(database)),
        ("schema", s(schema)),
        ("path", s(layout.path(node))),
        ("tags", config.get("tags").cloned().unwrap_or(F::Raw("[]"))),
        ("meta", config.get("meta").cloned().unwrap_or(F::Raw("{}"))),
        ("alias", s(alias)),
        (
            "description",
            s(node_props.and_then(|p| p.description.as_deref()).map(|d| describe(inputs, d)).unwrap_or_default()),
        ),
        ("columns", columns(inputs, node)),
        // Where the node's properties were declared, as dbt spells it.
        (
            "patch_path",
            opt(node_props.map(|p| {
                format!("{}://{}", project.name, crate::project::resources::below(&project.dir, &p.file).display())
            })),
        ),
        ("docs", DOCS),
        ("relation_name", opt(node.relation.as_ref().filter(|r| !r.cte).map(|r| r.to_string()))),
        ("raw_code", s(raw_code)),
        ("checksum", checksum(node, checksums)),
    ]);
    m.insert("config", F::Obj(config));
    let target = target_rel(root);
    let sql_path = layout.sql_path(node);
    let build_path =
        inputs.executed.contains(&node.id).then(|| target.join("run").join(node.project()).join(&sql_path));
    m.insert("build_path", opt(build_path.map(|p| p.display().to_string())));
    if node.resource == Resource::Seed {
        m.insert("root_path", s(root.root.join(&project.dir).display().to_string()));
        m.insert("depends_on", F::Raw(r#"{"macros":[]}"#));
        return m;
    }
    // `{name, package, version}` of each ref as written; a generic test's
    // (recorded by no render) are its parents', named as dbt names them.
    let ref_entry = |name: &'a str, package: Option<&'a str>, version: Option<&serde_json::Value>| {
        let version = version.cloned().map(F::Value).unwrap_or(NULL);
        F::Obj(Fields::from([("name", s(name)), ("package", opt(package)), ("version", version)]))
    };
    let refs: Vec<F> = match written {
        Some(w) => w
            .refs
            .iter()
            .map(|r| ref_entry(&r.name, r.package.as_deref(), r.version.as_ref().map(|v| &v.json)))
            .collect(),
        None => parents
            .iter()
            .filter(|id| !id.starts_with("source."))
            .filter_map(|id| super::node_by_id(inputs.plan, id))
            .map(|p| ref_entry(&p.name, None, p.version.as_ref().map(|v| &v.v.json)))
            .collect(),
    };
    let source_pair = |(src, table): (&'a str, &'a str)| F::List(vec![s(src), s(table)]);
    let sources: Vec<F> = match written {
        Some(w) => w.sources.iter().map(|(a, b)| source_pair((a.as_str(), b.as_str()))).collect(),
        None => parents
            .iter()
            .filter_map(|id| crate::nodes::fqn::parse_source_id(id))
            .map(|(_, src, table)| source_pair((src, table)))
            .collect(),
    };
    let compiled = inputs.compiled.get(&node.id);
    let python = matches!(&node.kind, NodeKind::Model { python: Some(_), .. });
    m.insert("language", s(if python { "python" } else { "sql" }));
    if node.resource == Resource::Snapshot {
        m.insert("contract", F::Raw(r#"{"alias_types":true,"checksum":null,"enforced":false}"#));
    }
    if node.resource == Resource::Model {
        // The contract as configured (with dbt's checksum when enforced),
        // the model-level constraints, and the model's version, the latest
        // and its deprecation date.
        let (enforced, alias_types) = crate::nodes::contract::contract_config(&node.config).unwrap_or((false, true));
        let sum = checksums.contracts.get(node.id.as_str());
        let contract = serde_json::json!({"alias_types": alias_types, "checksum": sum, "enforced": enforced});
        let constraints = node_props.and_then(|p| p.constraints.as_ref()).map(|(c, _)| c);
        m.extend([
            ("access", s("protected")),
            ("contract", F::Value(contract)),
            ("constraints", F::Value(crate::nodes::contract::manifest_constraints(constraints, true))),
            ("version", node.version.as_ref().map(|v| F::Value(v.v.json.clone())).unwrap_or(NULL)),
            ("latest_version", node.version.as_ref().map(|v| F::Value(v.latest.json.clone())).unwrap_or(NULL)),
            ("deprecation_date", opt(node_props.and_then(|p| p.deprecation_date.as_ref()).map(|d| d.iso.as_str()))),
            ("primary_key", F::Raw("[]")),
        ]);
    }
    // The tested node: a parent with the test's model name (and version).
    let attached = |name: &str, version: Option<&crate::project::versions::Version>| {
        let found = parents.iter().filter_map(|id| super::node_by_id(inputs.plan, id)).find(|p| {
            p.name == name
                && match (version, p.version.as_ref()) {
                    (Some(v), Some(pv)) => v.same(&pv.v),
                    (None, None) => true,
                    _ => false,
                }
        });
        found.map(|p| s(p.id.as_str()))
    };
    let generic = layout.generic_decl(node).map(|d| {
        let mut kwargs: Fields = d.args.iter().map(|(k, v)| (k.as_str(), F::Value(yaml_json(v)))).collect();
        if let Some(c) = &d.column {
            kwargs.insert("column_name", s(c.as_str()));
        }
        use crate::data_tests::naming::{model_arg, TestTarget};
        let target = match &d.attached {
            Attached::Model(name) => {
                TestTarget::Model { name: name.clone(), version: d.version.as_ref().map(|v| v.text.clone()) }
            }
            Attached::Source(source, table) => TestTarget::Source { source: source.clone(), table: table.clone() },
        };
        kwargs.insert("model", s(model_arg(&target)));
        let (attached, key) = match &d.attached {
            Attached::Model(name) => (attached(name, d.version.as_ref()), format!("models.{name}")),
            Attached::Source(src, t) => (Some(s(source_id(&project.name, src, t))), format!("sources.{src}")),
        };
        let metadata = Fields::from([("name", s(d.test.as_str())), ("kwargs", F::Obj(kwargs)), ("namespace", NULL)]);
        [
            ("column_name", opt(d.column.as_deref())),
            ("attached_node", attached.unwrap_or(NULL)),
            ("file_key_name", s(key)),
            ("test_metadata", F::Obj(metadata)),
        ]
    });
    m.extend([
        ("refs", F::List(refs)),
        ("sources", F::List(sources)),
        (
            "depends_on",
            F::Obj(Fields::from([("macros", F::Raw("[]")), ("nodes", F::List(parents.into_iter().map(s).collect()))])),
        ),
        ("compiled", F::Raw(if compiled.is_some() { "true" } else { "false" })),
        ("compiled_code", opt(compiled.map(String::as_str))),
        (
            "compiled_path",
            opt(compiled.map(|_| target.join("compiled").join(node.project()).join(&sql_path).display().to_string())),
        ),
    ]);
    m.extend(generic.into_iter().flatten());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_are_sorted_with_the_tests_own_schema() {
        let test = config_defaults(Resource::Test);
        assert!(test.0.windows(2).all(|w| w[0].0 < w[1].0), "sorted, each key once");
        assert_eq!(test.get("schema").and_then(F::as_str), Some("dbt_test__audit"));
    }
}
