//! `runner ui` over real HTTP, and `runner report`: the real binary serves a
//! temp project on a free port; pages show what the CLI shows, paths cannot
//! leave the project, actions need the CSRF token and go through the CLI's
//! own commands, and no secret from the profile or the environment appears.

mod common;
use common::http::{csrf, get, post_form, request, Ui};
use common::Fixture;
use std::time::{Duration, Instant};

const SECRET: &str = "hunter2-ui-s3cr3t";

/// The shop with a model that fails, and a profile that reads a secret.
fn project() -> (Fixture, Vec<(&'static str, String)>) {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/bad.sql", "select * from missing_table_xyz\n");
    f.write(
        "profiles.yml",
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n      threads: 2\n      settings:\n        temp_directory: \"{{ env_var('DBT_ENV_SECRET_TMP') }}\"\n",
    );
    let tmp = f.path().join(format!("tmp-{SECRET}"));
    std::fs::create_dir_all(&tmp).expect("mkdir");
    let env = vec![("DBT_ENV_SECRET_TMP", tmp.display().to_string())];
    (f, env)
}

fn runner(f: &Fixture, env: &[(&str, String)], args: &[&str]) -> common::Run {
    let mut c = f.command(args);
    for (k, v) in env {
        c.env(k, v);
    }
    common::Run::from(c.output().expect("runner starts"))
}

fn runs_json(f: &Fixture, env: &[(&str, String)]) -> Vec<serde_json::Value> {
    let r = runner(f, env, &["runs", "my_dag", "--output", "json"]);
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json").as_array().cloned().unwrap_or_default()
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

/// Polls a run's page until the run is no longer running.
fn wait_finished(addr: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let page = get(addr, path).text();
        if !page.contains("data-state=\"running\"") && !page.contains("data-state=\"queued\"") {
            return page;
        }
        assert!(Instant::now() < deadline, "the run never finished:\n{page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The node ids of a page's lineage graph (the JSON after its SVG), and
/// how many boxes the SVG draws.
fn graph_nodes(page: &str) -> (Vec<String>, usize) {
    let data =
        page.split("class=\"graph-data\">").nth(1).and_then(|s| s.split("</script>").next()).expect("graph data");
    let rows: Vec<serde_json::Value> = serde_json::from_str(data).expect("graph data is JSON");
    let ids = rows.iter().filter_map(|r| r[0].as_str().map(str::to_string)).collect();
    (ids, page.matches("h180v26h-180z").count())
}

fn assert_no_secret(what: &str, page: &str) {
    assert!(!page.contains(SECRET), "{what} shows the secret");
    assert!(!page.contains("temp_directory"), "{what} shows the profile");
}

#[test]
fn pages_actions_security_and_report_over_http() {
    let (f, env) = project();
    let first = runner(&f, &env, &["run", "my_dag"]);
    assert_eq!(first.code, 1, "the bad model fails the run:\n{}\n{}", first.stdout, first.stderr);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ui = Ui::start(&f, &envs);
    let addr = ui.addr.as_str();
    assert!(addr.starts_with("127.0.0.1:"), "binds loopback by default: {addr}");

    // The DAG list, the grid, the run, the failed task, the project.
    let home = get(addr, "/");
    assert_eq!(home.status, 200);
    assert!(home.header("Content-Security-Policy").is_some_and(|c| c.contains("default-src 'none'")));
    let home = home.text();
    assert!(
        home.contains("data-dag=\"my_dag\"") && home.contains("0 0 * * *") && home.contains("sq st-failed"),
        "{home}"
    );
    let run_id = runs_json(&f, &env)[0]["run_id"].as_str().expect("run id").to_string();
    let grid = get(addr, "/dags/my_dag").text();
    let bad_row = grid.split("<tr data-node=\"model.shop.bad\">").nth(1).and_then(|r| r.split("</tr>").next());
    assert!(bad_row.is_some_and(|r| r.contains("cell st-failed")), "the failed model's row has a failed cell: {grid}");
    let run_path = format!("/dags/my_dag/runs/{}", enc(&run_id));
    let run = get(addr, &run_path);
    assert_eq!(run.status, 200);
    let run = run.text();
    let tasks = runner(&f, &env, &["tasks", &run_id, "--output", "json"]);
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&tasks.stdout).expect("tasks json");
    assert!(tasks.len() >= 8, "{tasks:?}");
    let (ids, boxes) = graph_nodes(&run);
    assert_eq!(boxes, tasks.len(), "one box a node");
    for t in &tasks {
        let node = t["node"].as_str().expect("node");
        assert!(ids.iter().any(|id| id == node), "{node} in the lineage graph");
    }
    assert!(run.contains("<svg class=\"gantt\"") && run.contains("thread "), "the timeline has worker lanes");
    assert!(run.contains("not_null_stg_orders_order_id"), "tests are listed");
    let task = get(addr, &format!("{run_path}/tasks/model.shop.bad")).text();
    assert!(task.contains("missing_table_xyz") && task.contains("class=\"error\""), "{task}");
    assert!(task.contains("select * from missing_table_xyz"), "the log shows the SQL: {task}");
    let customers = get(addr, &format!("{run_path}/tasks/model.shop.customers")).text();
    assert!(customers.contains("Compiled SQL") && customers.contains("left join"), "{customers}");
    let project = get(addr, "/project").text();
    assert!(project.contains("stg_orders") && project.contains("raw_customers"), "{project}");
    let node = get(addr, "/project/model.shop.customers").text();
    assert!(node.contains("seed.shop.raw_customers") && node.contains("model.shop.stg_orders"), "parents: {node}");
    for (what, page) in
        [("home", &home), ("grid", &grid), ("run", &run), ("task", &task), ("project", &project), ("node", &node)]
    {
        assert_no_secret(what, page);
    }

    // Nothing outside the project is reachable, however the path is spelled.
    for path in [
        "/static/../profiles.yml",
        "/static/..%2fprofiles.yml",
        "/static/%2e%2e%2fprofiles.yml",
        "/static/%2E%2E/%2E%2E/etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/dags/..%2F..%2Fprofiles.yml",
        "/dags/my_dag/runs/..%2f..%2f..%2fprofiles.yml",
        &format!("{run_path}/tasks/..%2F..%2F..%2F..%2Fprofiles.yml"),
        "/static/%252e%252e%252fprofiles.yml",
        "/project/..%5c..%5cprofiles.yml",
        "//etc/passwd",
        "/static/....//profiles.yml",
    ] {
        let r = get(addr, path);
        assert!(matches!(r.status, 400 | 404), "{path}: {}", r.status);
        let body = r.text();
        assert!(!body.contains("temp_directory") && !body.contains("root:x:0"), "{path} leaked a file");
    }
    // Another name for this address is refused (DNS rebinding).
    assert_eq!(request(addr, "GET", "/", &[("Host", "evil.example")], b"").status, 421);

    // Actions: no CSRF token, no run.
    let before = runs_json(&f, &env).len();
    assert_eq!(post_form(addr, "/dags/my_dag/trigger", "logical_date=2025-01-05").status, 403);
    assert_eq!(post_form(addr, "/dags/my_dag/trigger", "logical_date=2025-01-05&csrf=0123").status, 403);
    assert_eq!(runs_json(&f, &env).len(), before);
    let token = csrf(&home);

    // Trigger: `runner run` in a child; the CLI sees the run it made.
    let r = post_form(addr, "/dags/my_dag/trigger", &format!("logical_date=2025-01-05&vars=%7Bx%3A+1%7D&csrf={token}"));
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("Location").expect("redirect").to_string();
    assert!(location.starts_with("/dags/my_dag/runs/manual__"), "{location}");
    let finished = wait_finished(addr, &location);
    assert!(finished.contains("data-state=\"failed\""), "{finished}");
    let runs = runs_json(&f, &env);
    assert_eq!(runs.len(), before + 1);
    let new =
        runs.iter().find(|r| r["logical_date"] == "2025-01-05T00:00:00Z").expect("the triggered run, for its date");
    let new_id = new["run_id"].as_str().expect("id").to_string();

    // Clear the failed tasks: `runner clear --failed-only` ran only those again.
    let r = post_form(addr, &format!("{location}/clear"), &format!("failed_only=true&csrf={token}"));
    assert_eq!(r.status, 303, "{}", r.text());
    wait_finished(addr, &location);
    let tasks = runner(&f, &env, &["tasks", &new_id, "--output", "json"]);
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&tasks.stdout).expect("tasks json");
    let attempts =
        |node: &str| tasks.iter().find(|t| t["node"] == node).map(|t| t["attempts"].as_array().map_or(0, Vec::len));
    assert_eq!(attempts("model.shop.bad"), Some(2), "the failed task ran again");
    assert_eq!(attempts("model.shop.customers"), Some(1), "a task that succeeded did not");

    // Pause and unpause: what `runner dags` reads.
    let paused = || {
        let r = runner(&f, &env, &["dags", "--output", "json"]);
        serde_json::from_str::<serde_json::Value>(&r.stdout).expect("json")[0]["paused"].as_bool()
    };
    assert_eq!(post_form(addr, "/dags/my_dag/pause", &format!("paused=true&csrf={token}")).status, 303);
    assert_eq!(paused(), Some(true));
    assert!(get(addr, "/").text().contains(">Unpause<"));
    assert_eq!(post_form(addr, "/dags/my_dag/pause", &format!("paused=false&csrf={token}")).status, 303);
    assert_eq!(paused(), Some(false));
    for page in ["/", "/dags/my_dag", location.as_str()] {
        assert_no_secret(page, &get(addr, page).text());
    }
    drop(ui);

    // The report: one file, every node, nothing fetched from anywhere.
    let out = f.path().join("report.html");
    let r = runner(&f, &env, &["report", &new_id, "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&out).expect("report");
    let (ids, boxes) = graph_nodes(&html);
    assert_eq!(boxes, tasks.len(), "one box a node");
    for t in &tasks {
        let node = t["node"].as_str().expect("node");
        assert!(ids.iter().any(|id| id == node), "{node} in the report");
    }
    assert!(html.contains("missing_table_xyz"), "errors are in the report");
    assert!(!html.contains("src=\"") && !html.contains("<link"), "nothing is loaded from elsewhere");
    assert_no_secret("report", &html);
    let unknown = runner(&f, &env, &["report", "nope", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}

#[test]
fn a_busy_port_is_a_usage_error() {
    let f = Fixture::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let r = f.run(&["ui", "--port", &port]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot listen on"), "{}", r.stderr);
}

#[test]
fn the_project_page_shows_snapshots_and_unit_tests() {
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write(
        "snapshots/snap_customers.sql",
        "{% snapshot snap_customers %}\n{{ config(strategy='check', check_cols='all', unique_key='id', target_schema='snaps') }}\nselect * from {{ ref('raw_customers') }}\n{% endsnapshot %}\n",
    );
    f.write(
        "snapshots/props.yml",
        "version: 2\nsnapshots:\n  - name: snap_customers\n    description: every customer through time\n",
    );
    f.write(
        "models/unit.yml",
        "unit_tests:\n  - name: customers_count_orders\n    description: each customer's orders are counted\n    model: customers\n    given:\n      - input: ref('raw_customers')\n        rows:\n          - {id: 1, name: Ann}\n      - input: ref('stg_orders')\n        rows:\n          - {order_id: 10, customer_id: 1, amount: 5}\n    expect:\n      rows:\n        - {customer_id: 1, orders: 1}\n",
    );
    let ls = f.run(&["ls"]);
    assert_eq!(ls.code, 0, "{}\n{}", ls.stdout, ls.stderr);
    let ui = Ui::start(&f, &[]);
    let addr = ui.addr.as_str();

    let project = get(addr, "/project").text();
    for shown in ["snapshots", "snap_customers", "unit tests", "customers_count_orders", "data tests"] {
        assert!(project.contains(shown), "{shown}: {project}");
    }
    let unit = get(addr, "/project/unit_test.shop.customers.customers_count_orders");
    assert_eq!(unit.status, 200);
    let unit = unit.text();
    for shown in ["unit test", "each customer's orders are counted", "Given", "input: ref('raw_customers')", "Expect"] {
        assert!(unit.contains(shown), "{shown}: {unit}");
    }
    assert!(unit.contains("model.shop.customers"), "its model is its parent: {unit}");
    let snap = get(addr, "/project/snapshot.shop.snap_customers").text();
    for shown in ["every customer through time", "select * from {{ ref('raw_customers') }}", "\"strategy\": \"check\""]
    {
        assert!(snap.contains(shown), "{shown}: {snap}");
    }
}

#[test]
fn child_logs_of_earlier_actions_are_pruned_to_the_newest_fifty() {
    let f = Fixture::shop();
    let logs = f.path().join(".runner/ui");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let base = std::time::SystemTime::now() - Duration::from_secs(86_400);
    for i in 0..60u64 {
        let file = std::fs::File::create(logs.join(format!("my_dag-{i:02}.log"))).expect("log");
        file.set_modified(base + Duration::from_secs(i)).expect("mtime");
    }
    std::fs::write(logs.join("README.txt"), "not a child log").expect("write");
    let ui = Ui::start(&f, &[]);
    let mut left: Vec<String> =
        std::fs::read_dir(&logs).expect("dir").flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    left.sort();
    let mut expected: Vec<String> = (10..60).map(|i| format!("my_dag-{i:02}.log")).collect();
    expected.insert(0, "README.txt".into());
    assert_eq!(left, expected, "the newest 50 logs stay, other files too");
    drop(ui);
}
