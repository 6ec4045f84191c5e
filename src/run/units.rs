//! Where unit tests go in a run plan under dbt's `build`: right before
//! their model, after everything the model waits for, one after another;
//! a failure skips the rest, the model and what depends on it. Pure: it
//! only adds waits and blocks to a plan being built by `run_plan`.

use crate::nodes::{NodeKind, Plan};
use std::collections::{BTreeMap, BTreeSet};

/// The plan index of the model unit test `i` tests (none for other nodes,
/// or when the model does not run, being ephemeral).
pub(super) fn unit_tested_model(plan: &Plan, i: usize) -> Option<usize> {
    let NodeKind::UnitTest(ut) = &plan.node(i).kind else { return None };
    plan.nodes.binary_search_by(|n| n.id.as_str().cmp(&ut.model_id)).ok().or(Some(usize::MAX))
}

/// dbt's build order for unit tests: a model's unit tests run one after
/// another (in id order) once everything the model waits for is done, and
/// the model after them; a failing one skips the rest and the model, and so
/// everything downstream of it.
pub(super) fn before_their_models(
    plan: &Plan,
    nodes: &BTreeSet<usize>,
    waits: &mut BTreeMap<usize, BTreeSet<usize>>,
    blocks: &mut BTreeMap<usize, BTreeSet<usize>>,
) {
    let mut by_model: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in nodes {
        if let Some(m) = unit_tested_model(plan, i) {
            by_model.entry(m).or_default().push(i);
        }
    }
    for (m, units) in by_model {
        let (model_waits, model_blocks) =
            (waits.get(&m).cloned().unwrap_or_default(), blocks.get(&m).cloned().unwrap_or_default());
        let mut previous: Option<usize> = None;
        for u in units {
            let mut w = model_waits.clone();
            let mut b = model_blocks.clone();
            w.extend(previous);
            b.extend(previous);
            waits.insert(u, w);
            blocks.insert(u, b);
            previous = Some(u);
        }
        if let Some(last) = previous {
            waits.entry(m).or_default().insert(last);
            blocks.entry(m).or_default().insert(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{node, plan};
    use super::super::*;
    use crate::unit_tests::{Fixture, Overrides, Planned, Rows};

    fn unit(name: &str, model: &str) -> Node {
        let mut n = node(name, Resource::UnitTest, &[model]);
        n.relation = None;
        n.kind = NodeKind::UnitTest(std::sync::Arc::new(Planned {
            model_id: model.to_string(),
            model_name: model.to_string(),
            template: String::new(),
            model_config: Default::default(),
            model_relation: crate::template::relation::Relation::new("db", "main", model),
            inputs: Vec::new(),
            expect: Fixture::Rows(Vec::new()),
            overrides: Overrides::default(),
            is_incremental: false,
            description: String::new(),
            given: Vec::new(),
            expect_rows: Rows::Given(Vec::new()),
            expect_format: crate::unit_tests::Format::Dict,
            versions: None,
        }));
        n
    }

    #[test]
    fn build_runs_unit_tests_in_a_chain_between_the_parents_and_the_model() {
        let p = plan(vec![
            node("a", Resource::Model, &[]),
            node("m", Resource::Model, &["a"]),
            node("c", Resource::Model, &["m"]),
            unit("u1", "m"),
            unit("u2", "m"),
        ]);
        let i = |n: &str| p.graph.index_of(n).expect("node");
        let all: BTreeSet<usize> = (0..p.nodes.len()).collect();
        let rp = run_plan(&p, &all, TestBehavior::Build, TaskRetry::NONE);
        assert_eq!(rp.waits[&i("u1")], BTreeSet::from([i("a")]));
        assert_eq!(rp.waits[&i("u2")], BTreeSet::from([i("a"), i("u1")]));
        assert!(rp.blocks[&i("m")].contains(&i("u2")) && rp.waits[&i("m")].contains(&i("a")));
        // after_each: as data tests, after the model, before its children.
        let rp = run_plan(&p, &all, TestBehavior::AfterEach, TaskRetry::NONE);
        assert_eq!(rp.waits[&i("u1")], BTreeSet::from([i("m")]));
        assert!(rp.blocks[&i("c")].contains(&i("u1")));
        // Without their model, build runs none.
        let without: BTreeSet<usize> = all.iter().copied().filter(|&n| n != i("m")).collect();
        let rp = run_plan(&p, &without, TestBehavior::Build, TaskRetry::NONE);
        assert!(!rp.nodes.contains(&i("u1")) && !rp.nodes.contains(&i("u2")));
    }
}
