//! Snapshots in the plan: their settings typed once ([`SnapshotConfig`]),
//! where they are built (dbt 1.9: `target_schema` / `target_database` used
//! as written, else `schema` / `database` as for a model), and the planner's
//! pass over them (config precedence: `dbt_project.yml`'s `snapshots:` tree,
//! then the property YAML entry, then the block's `config()`).
//!
//! A config dbt refuses (no `strategy` or `unique_key`, `timestamp` without
//! `updated_at`, `check` without `check_cols`, …) is a load error naming the
//! file and line, with dbt's message. Any other strategy name is a macro's,
//! `snapshot_<name>_strategy`, which dbt looks up only when the snapshot runs
//! (and so does `executor::snapshot`); its config is not checked further,
//! as dbt does not check it.
//! Pure: no I/O, no SQL (that is `executor::snapshot`).

use super::materialize::{bad, ConfigError};
use super::{enabled, Node, NodeKind, Planner, Resource};
use crate::config_tree::{get_str, ConfigMap};
use crate::diag::Diagnostic;
use crate::project::snapshots::Snapshot;
use crate::template::relation::Relation;
use serde_yaml::Value;
use std::path::PathBuf;

/// How a snapshot decides that a row changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// The row's `updated_at` is later than the current version's `dbt_valid_from`.
    Timestamp { updated_at: String },
    /// One of `cols` differs; versions are stamped with `updated_at` when
    /// given, else the snapshot time.
    Check { cols: CheckCols, updated_at: Option<String> },
    /// Any other name, as written (`name` or `package.name`): the macro
    /// `snapshot_<name>_strategy` decides, found when the snapshot runs.
    Macro(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckCols {
    All,
    /// As written (SQL expressions, as dbt renders them).
    List(Vec<String>),
}

/// `unique_key`: one SQL expression, or a list of columns compared one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    One(String),
    Many(Vec<String>),
}

/// What happens to a current row whose key left the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    Ignore,
    /// Its `dbt_valid_to` is set to the snapshot time.
    Invalidate,
    /// Invalidated, and a new version with `dbt_is_deleted = 'True'` added.
    NewRecord,
}

/// The meta columns' names (`snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaColumns {
    pub valid_from: String,
    pub valid_to: String,
    pub scd_id: String,
    pub updated_at: String,
    pub is_deleted: String,
}

impl Default for MetaColumns {
    fn default() -> MetaColumns {
        MetaColumns {
            valid_from: "dbt_valid_from".into(),
            valid_to: "dbt_valid_to".into(),
            scd_id: "dbt_scd_id".into(),
            updated_at: "dbt_updated_at".into(),
            is_deleted: "dbt_is_deleted".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    pub strategy: Strategy,
    pub unique_key: Key,
    pub hard_deletes: HardDeletes,
    /// `dbt_valid_to_current`: the SQL a current row's `dbt_valid_to` holds instead of null.
    pub valid_to_current: Option<String>,
    pub columns: MetaColumns,
}

fn text(cfg: &ConfigMap, key: &'static str) -> Result<Option<String>, ConfigError> {
    match cfg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(key, format!("`{key}` must be a string"), "")),
    }
}

fn strings(v: &[Value]) -> Option<Vec<String>> {
    v.iter().map(|i| i.as_str().map(str::to_string)).collect()
}

/// `check_cols` when set: `all` or a list, else (`Err`) another string as
/// written, which only the `check` strategy refuses. A value of another type
/// is refused whatever the strategy, as dbt's config schema refuses it.
fn check_cols(cfg: &ConfigMap) -> Result<Option<Result<CheckCols, String>>, ConfigError> {
    let invalid =
        || bad("check_cols", "Invalid value for 'check_cols': expected 'all' or a list of strings.".into(), "");
    match cfg.get("check_cols") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "all" => Ok(Some(Ok(CheckCols::All))),
        Some(Value::String(s)) => Ok(Some(Err(s.clone()))),
        Some(Value::Sequence(items)) if items.is_empty() => Ok(None),
        Some(Value::Sequence(items)) => Ok(Some(Ok(CheckCols::List(strings(items).ok_or_else(invalid)?)))),
        Some(_) => Err(invalid()),
    }
}

impl SnapshotConfig {
    /// The snapshot settings of a merged config, refused as dbt refuses them.
    pub fn from_config(cfg: &ConfigMap) -> Result<SnapshotConfig, ConfigError> {
        let required = "Snapshots must be configured with a 'strategy' and 'unique_key'.";
        let required_hint = "set both, e.g. `config(strategy='timestamp', unique_key='id', updated_at='updated_at')`";
        if let Some(m) = get_str(cfg, "materialized").filter(|m| *m != "snapshot") {
            return Err(bad(
                "materialized",
                format!("A snapshot must have a materialized value of 'snapshot' (not `{m}`)"),
                "remove `materialized` from the snapshot's config",
            ));
        }
        let strategy = text(cfg, "strategy")?.ok_or_else(|| bad("strategy", required.into(), required_hint))?;
        let unique_key = match cfg.get("unique_key") {
            Some(Value::String(s)) if !s.trim().is_empty() => Key::One(s.clone()),
            Some(Value::Sequence(items)) if !items.is_empty() => Key::Many(strings(items).ok_or_else(|| {
                bad("unique_key", "`unique_key` must be a column name or a list of column names".into(), "")
            })?),
            None | Some(Value::Null) | Some(Value::String(_)) | Some(Value::Sequence(_)) => {
                return Err(bad("unique_key", required.into(), required_hint))
            }
            Some(_) => {
                return Err(bad(
                    "unique_key",
                    "`unique_key` must be a column name or a list of column names".into(),
                    "",
                ))
            }
        };
        let updated_at = text(cfg, "updated_at")?;
        let strategy = match strategy.as_str() {
            "timestamp" => {
                let updated_at = updated_at.ok_or_else(|| {
                    bad(
                        "updated_at",
                        "A snapshot configured with the timestamp strategy must specify an updated_at configuration."
                            .into(),
                        "name the column holding each row's last change, e.g. `updated_at='updated_at'`",
                    )
                })?;
                if check_cols(cfg)?.is_some() {
                    return Err(bad(
                        "check_cols",
                        "A 'timestamp' snapshot should not have 'check_cols'".into(),
                        "remove `check_cols`, or use `strategy: check`",
                    ));
                }
                Strategy::Timestamp { updated_at }
            }
            "check" => {
                let missing = "A snapshot configured with the check strategy must specify a check_cols configuration.";
                let cols = match check_cols(cfg)? {
                    Some(Ok(cols)) => cols,
                    Some(Err(s)) => {
                        return Err(bad(
                            "check_cols",
                            format!("Invalid value for 'check_cols': {s}. Expected 'all' or a list of strings."),
                            "write `check_cols: all` or a list such as `[status, amount]`",
                        ))
                    }
                    None => {
                        return Err(bad(
                            "check_cols",
                            missing.into(),
                            "list the columns to compare, or write `check_cols: all`",
                        ))
                    }
                };
                Strategy::Check { cols, updated_at }
            }
            // dbt checks nothing more of a custom strategy's config: its
            // macro reads what it needs (`check_cols` included) itself.
            other => {
                check_cols(cfg)?;
                Strategy::Macro(other.to_string())
            }
        };
        super::header::sql_header(cfg)?;
        Ok(SnapshotConfig {
            strategy,
            unique_key,
            hard_deletes: hard_deletes(cfg)?,
            valid_to_current: text(cfg, "dbt_valid_to_current")?,
            columns: meta_columns(cfg)?,
        })
    }
}

/// dbt's `get_hard_deletes_behavior`: `hard_deletes`, or the older
/// `invalidate_hard_deletes`, never both.
fn hard_deletes(cfg: &ConfigMap) -> Result<HardDeletes, ConfigError> {
    let legacy = cfg.get("invalidate_hard_deletes").filter(|v| !v.is_null());
    let mode = cfg.get("hard_deletes").filter(|v| !v.is_null());
    if legacy.is_some() && mode.is_some() {
        return Err(bad(
            "hard_deletes",
            "You cannot set both the invalidate_hard_deletes and hard_deletes config properties on the same snapshot."
                .into(),
            "keep `hard_deletes` (`invalidate_hard_deletes: true` is `hard_deletes: invalidate`)",
        ));
    }
    if let Some(v) = legacy {
        return match v {
            Value::Bool(true) => Ok(HardDeletes::Invalidate),
            Value::Bool(false) => Ok(HardDeletes::Ignore),
            _ => Err(bad("invalidate_hard_deletes", "`invalidate_hard_deletes` must be `true` or `false`".into(), "")),
        };
    }
    match mode.map(|v| v.as_str()) {
        None | Some(Some("ignore")) => Ok(HardDeletes::Ignore),
        Some(Some("invalidate")) => Ok(HardDeletes::Invalidate),
        Some(Some("new_record")) => Ok(HardDeletes::NewRecord),
        Some(_) => Err(bad(
            "hard_deletes",
            "Invalid setting for property hard_deletes.".into(),
            "use `ignore` (the default), `invalidate` or `new_record`",
        )),
    }
}

fn meta_columns(cfg: &ConfigMap) -> Result<MetaColumns, ConfigError> {
    let mut out = MetaColumns::default();
    let key = "snapshot_meta_column_names";
    let entries = match cfg.get(key) {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Mapping(m)) => m,
        Some(_) => return Err(bad(key, format!("`{key}` must be a map"), "e.g. `{dbt_valid_from: valid_from}`")),
    };
    for (k, v) in entries {
        let name = v.as_str().filter(|s| !s.trim().is_empty());
        let slot = match k.as_str() {
            Some("dbt_valid_from") => &mut out.valid_from,
            Some("dbt_valid_to") => &mut out.valid_to,
            Some("dbt_scd_id") => &mut out.scd_id,
            Some("dbt_updated_at") => &mut out.updated_at,
            Some("dbt_is_deleted") => &mut out.is_deleted,
            _ => {
                let shown = k.as_str().map(str::to_string).unwrap_or_else(|| super::yaml_scalar(k));
                return Err(bad(
                    key,
                    format!("unknown meta column `{shown}` in `{key}`"),
                    "rename `dbt_valid_from`, `dbt_valid_to`, `dbt_scd_id`, `dbt_updated_at` or `dbt_is_deleted`",
                ));
            }
        };
        if let Some(name) = name {
            *slot = name.to_string();
        } else if !v.is_null() {
            return Err(bad(key, format!("`{key}` maps each meta column to a column name"), ""));
        }
    }
    Ok(out)
}

/// Where a snapshot is built by dbt's default naming (see [`legacy_targets`]).
#[cfg(test)]
pub(crate) fn relation_for(target: &crate::project::profile::Target, cfg: &ConfigMap, name: &str) -> Relation {
    legacy_targets(super::naming::defaults(target, cfg, name), cfg)
}

/// dbt 1.9 takes `target_schema` and `target_database` as written; without
/// them a snapshot is named as a model is (`schema`, `database`, `alias`
/// through the project's `generate_*_name` macros).
fn legacy_targets(mut relation: Relation, cfg: &ConfigMap) -> Relation {
    if let Some(db) = get_str(cfg, "target_database") {
        relation.database = db.to_string();
    }
    if let Some(schema) = get_str(cfg, "target_schema") {
        relation.schema = schema.to_string();
    }
    relation
}

/// The file and line a bad key came from: the block's `config()`, the
/// property entry, or `dbt_project.yml`; a missing key points at the snapshot.
fn origin(
    s: &Snapshot,
    dbt_project: &str,
    props: Option<&crate::project::NodeProps>,
    from_block: bool,
    key: &str,
    missing: bool,
) -> (PathBuf, Option<usize>) {
    if missing {
        return (s.path.clone(), Some(s.line));
    }
    if from_block {
        let line = s.text.lines().skip(s.line.saturating_sub(1)).position(|l| l.contains(key));
        return (s.path.clone(), line.map(|i| s.line + i).or(Some(s.line)));
    }
    match props {
        Some(p) if p.config.contains_key(key) => (p.file.clone(), p.line),
        _ => (PathBuf::from("dbt_project.yml"), tree_line(dbt_project, key)),
    }
}

/// The line of `key:` (or `+key:`) in `dbt_project.yml`'s `snapshots:` tree.
fn tree_line(text: &str, key: &str) -> Option<usize> {
    let start = crate::config::key_line(text, "snapshots")?;
    let wanted = format!("{key}:");
    let found = text.lines().skip(start).position(|l| l.trim_start().trim_start_matches('+').starts_with(&wanted));
    found.map(|i| start + i + 1)
}

impl<'a> Planner<'a> {
    /// Resolve pass over the snapshots: their nodes, and their refs to link
    /// with the models'.
    pub(super) fn snapshots(&mut self) -> Vec<super::ModelRefs<'a>> {
        let mut refs = Vec::new();
        let (project, templates, target) = (self.project, self.templates, self.target);
        for s in &project.snapshots {
            let template = s.template();
            let placeholder = Relation::new(&target.database, &target.schema, &s.name);
            let rec = match templates.resolve_file(&template, &placeholder) {
                Ok(r) => r,
                Err(d) => {
                    self.errors.push(d);
                    continue;
                }
            };
            let props = project.snapshot_props.get(&s.name);
            let layers = props.map(|p| p.config.clone()).into_iter().chain([rec.config.clone().into_iter().collect()]);
            let mut cfg = self.root.node_config(project, |p| p.snapshot_tree.as_ref(), &s.folders, &s.name, layers);
            if let Some(e) = super::materialize::call_enabled(&rec.config) {
                let line = crate::config::find_line(&s.text, "enabled");
                let d = Diagnostic::in_file(&s.path, format!("snapshot `{}`: {e}", s.name)).at(line, None);
                self.errors.push(d.hint(super::materialize::ENABLED_HINT));
                continue;
            }
            if !enabled(&cfg) {
                continue;
            }
            let located = |key: &str, message: String, hint: Option<String>, missing: bool| {
                let from_block = rec.config.contains_key(key);
                let (file, line) = origin(s, &project.dbt_project_text, props, from_block, key, missing);
                let d = Diagnostic::in_file(file, format!("snapshot `{}`: {message}", s.name)).at(line, None);
                match hint {
                    Some(h) => d.hint(h),
                    None => d,
                }
            };
            let snapshot = match SnapshotConfig::from_config(&cfg) {
                Ok(c) => c,
                Err(e) => {
                    let missing = cfg.get(e.key).is_none_or(Value::is_null);
                    self.errors.push(located(e.key, e.message, e.hint, missing));
                    continue;
                }
            };
            let hooks = match crate::hooks::node_hooks(&mut cfg) {
                Ok(h) => h,
                Err((key, message)) => {
                    let hint = "a hook is SQL text, or a map with `sql` and `transaction: false`";
                    self.errors.push(located(key, message, Some(hint.into()), false));
                    continue;
                }
            };
            let id = format!("snapshot.{}.{}", project.name, s.name);
            if !self.claim_name(&s.name, &id, &s.path) {
                continue;
            }
            for (src, t) in &rec.sources {
                self.check_source(src, t, &s.path, &s.text);
            }
            cfg.insert("materialized".into(), Value::from("snapshot"));
            // dbt's config lists every meta column, renamed or not (null).
            if let Some(Value::Mapping(names)) = cfg.get_mut("snapshot_meta_column_names") {
                for k in ["dbt_valid_to", "dbt_valid_from", "dbt_scd_id", "dbt_updated_at", "dbt_is_deleted"] {
                    if !names.contains_key(k) {
                        names.insert(Value::from(k), Value::Null);
                    }
                }
            }
            let named = self.naming.relation(&self.view(Resource::Snapshot, &s.name, &s.path, &s.folders), &cfg);
            let relation = match named {
                Ok(r) => legacy_targets(r, &cfg),
                Err(e) => {
                    self.errors.push(Diagnostic::in_file(&s.path, format!("snapshot `{}`: {e}", s.name)));
                    continue;
                }
            };
            self.nodes.push(Node {
                id,
                name: s.name.clone(),
                resource: Resource::Snapshot,
                file: s.path.clone(),
                original_file_path: self.original(&s.path),
                depends_on: rec.sources.iter().map(|(a, b)| self.source_dep(a, b, &project.name)).collect(),
                relation: Some(relation),
                config: cfg,
                kind: NodeKind::Snapshot { template, snapshot },
                hooks,
                version: None,
                run: Default::default(),
                build: Default::default(),
                ddl: None,
            });
            refs.push((self.nodes.len() - 1, rec.refs, rec.sources, s.text.as_str()));
        }
        refs
    }
}

#[cfg(test)]
mod tests;
