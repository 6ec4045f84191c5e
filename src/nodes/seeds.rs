//! Seeds in the plan: each enabled seed file becomes a node with its merged
//! config, hooks, column types, delimiter and relation. Loading the CSV is
//! the executor's; only the plan's side is here.

use super::{enabled, Node, NodeKind, Planner, Resource};
use crate::config_tree::get_str;
use crate::diag::Diagnostic;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

impl Planner<'_> {
    pub(super) fn seeds(&mut self) {
        for s in &self.project.seeds {
            let mut cfg = self.root.seed_config(self.project, s);
            if !enabled(&cfg) {
                continue;
            }
            let hooks = crate::hooks::node_hooks(&mut cfg);
            let bad = |(_, e)| Diagnostic::in_file(&s.path, format!("seed `{}`: {e}", s.name));
            let Ok(hooks) = hooks.map_err(|e| self.errors.push(bad(e))) else { continue };
            let id = format!("seed.{}.{}", self.project.name, s.name);
            if !self.claim_name(&s.name, &id, &s.path) {
                continue;
            }
            let column_types = match cfg.get("column_types") {
                Some(Value::Mapping(m)) => {
                    m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect()
                }
                _ => BTreeMap::new(),
            };
            let delimiter = get_str(&cfg, "delimiter").unwrap_or(",").to_string();
            let view = self.view(Resource::Seed, &s.name, &s.path, &s.folders);
            let relation = match self.naming.relation(&view, &cfg) {
                Ok(r) => r,
                Err(e) => {
                    self.errors.push(Diagnostic::in_file(&s.path, format!("seed `{}`: {e}", s.name)));
                    continue;
                }
            };
            self.nodes.push(Node {
                id,
                name: s.name.clone(),
                resource: Resource::Seed,
                file: s.path.clone(),
                original_file_path: self.original(&s.path),
                depends_on: BTreeSet::new(),
                relation: Some(relation),
                config: cfg,
                kind: NodeKind::Seed { csv: s.abs_path.clone(), column_types, delimiter },
                hooks,
                version: None,
                run: Default::default(),
                build: Default::default(),
                ddl: None,
            });
        }
    }
}
