use super::*;
use crate::events::NodeLabel;

fn label(id: &str, resource: Resource) -> NodeLabel {
    NodeLabel {
        id: id.into(),
        name: id.rsplit('.').next().unwrap_or(id).into(),
        resource,
        tested_model: None,
        materialized: String::new(),
        relation: None,
        relation_name: None,
        file: String::new(),
    }
}

fn finished(id: &str, resource: Resource, status: Status) -> Event {
    let result = NodeResult {
        status,
        duration: Default::default(),
        count: Some(2),
        message: Some("m".into()),
        started: 0.0,
        finished: 0.0,
        worker: 1,
        attempts: 1,
        sql: Vec::new(),
        compiled: None,
    };
    Event::NodeFinished { index: 1, total: 1, node: label(id, resource), result }
}

#[test]
fn on_run_end_sees_every_result_and_the_schemas_of_what_was_built() {
    let node = |id: &str, schema: &str| (id.to_string(), json!({"unique_id": id, "database": "db", "schema": schema}));
    let nodes = BTreeMap::from([node("model.p.a", "main"), node("model.p.b", "main_marts"), node("seed.p.s", "raw")]);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut sink = SeenSink { seen: seen.clone(), nodes: Arc::new(nodes) };
    sink.event(&finished("model.p.a", Resource::Model, Status::Success));
    sink.event(&finished("model.p.b", Resource::Model, Status::Error));
    sink.event(&finished("test.p.t", Resource::Test, Status::Fail));
    sink.event(&Event::NodeSkipped {
        index: 1,
        total: 1,
        node: label("seed.p.s", Resource::Seed),
        because: "x".into(),
    });
    let seen = lock(&seen);
    let statuses: Vec<&str> = seen.results.iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, vec!["success", "error", "fail", "skipped"]);
    // Only a test reports failures; a node never started still names its thread.
    assert_eq!(seen.results[2]["failures"], json!(2));
    assert_eq!(seen.results[0]["failures"], json!(null));
    assert_eq!(seen.results[3]["thread_id"], json!("Thread-1 (worker)"));
    assert_eq!(seen.results[1]["node"]["schema"], json!("main_marts"));
    // The failed model's and the skipped seed's schemas are not among those built.
    assert_eq!(seen.schemas, BTreeSet::from([("db".to_string(), "main".to_string())]));
}
