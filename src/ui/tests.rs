//! The router, checked without a socket: host checks, path refusals, CSRF,
//! read-only mode, tokens, secret masking and the pages' content.

use super::*;
use crate::cli::Command;
use crate::history::{Attempt, RunState, TaskRecord};

const DAG: &str = "schedule: '@daily'\nstart_date: 2025-01-01\ndescription: the <shop> DAG\ntags: [nightly]\n";

fn site(dir: &Path, loopback: bool, token: Option<&str>) -> Site {
    let opts = Options {
        command: Command::Ui { host: "127.0.0.1".into(), port: 8080 },
        project_dir: dir.to_path_buf(),
        profiles_dir: None,
        target: None,
        vars: Default::default(),
        select: None,
        exclude: None,
        threads: None,
        max_db_writers: None,
        full_refresh: false,
        lock_timeout: None,
        logical_date: None,
    };
    Site {
        opts,
        exe: PathBuf::from("/nonexistent/runner"),
        csrf: "c".repeat(32),
        token: token.map(str::to_string),
        loopback,
        port: 8080,
        secrets: vec!["hunter2-secret".into()],
        pages: Pages::new(),
        runs: Default::default(),
        manifest: Default::default(),
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("dags")).expect("mkdir");
    std::fs::write(dir.path().join("dags/shop.yml"), DAG).expect("write");
    std::fs::write(dir.path().join("dags/broken.yml"), "schedule: '61 * * * *'\n").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "top secret file").expect("write");
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&chrono::Utc);
    let attempt = |state: &str, from: &str, to: &str, error: Option<&str>| Attempt {
        try_number: 1,
        state: state.into(),
        start: Some(t(from)),
        end: Some(t(to)),
        duration: 1.0,
        error: error.map(str::to_string),
        log: Some(PathBuf::from("../secret.txt")),
        worker: Some(0),
        count: None,
    };
    let run = RunRecord {
        run_id: "manual__2025-01-02T00:00:00.000000+00:00".into(),
        dag_id: "shop".into(),
        run_type: "manual".into(),
        logical_date: t("2025-01-01T00:00:00Z"),
        data_interval_start: t("2025-01-01T00:00:00Z"),
        data_interval_end: t("2025-01-02T00:00:00Z"),
        state: RunState::Failed,
        start: Some(t("2025-01-02T00:00:00Z")),
        end: Some(t("2025-01-02T00:00:03Z")),
        pid: 1,
        host: "h".into(),
        message: None,
        tasks: vec![
            TaskRecord {
                node: "seed.shop.raw".into(),
                state: "success".into(),
                attempts: vec![attempt("success", "2025-01-02T00:00:00Z", "2025-01-02T00:00:01Z", None)],
            },
            TaskRecord {
                node: "test.shop.not_null_orders_id.81cfe2fe64".into(),
                state: "success".into(),
                attempts: vec![Attempt {
                    count: Some(3),
                    ..attempt("success", "2025-01-02T00:00:01Z", "2025-01-02T00:00:02Z", None)
                }],
            },
            TaskRecord {
                node: "model.shop.orders".into(),
                state: "failed".into(),
                attempts: vec![attempt(
                    "failed",
                    "2025-01-02T00:00:01Z",
                    "2025-01-02T00:00:03Z",
                    Some("boom hunter2-secret"),
                )],
            },
        ],
    };
    let h = History::new(dir.path());
    drop(h.create(&run).expect("create"));
    dir
}

fn get(site: &Site, url: &str) -> Reply {
    site.handle("GET", url, &[("Host".into(), "127.0.0.1:8080".into())], "")
}

fn post(site: &Site, url: &str, body: &str, cookie: Option<&str>) -> Reply {
    let mut headers = vec![("Host".to_string(), "127.0.0.1:8080".to_string())];
    if let Some(c) = cookie {
        headers.push(("Cookie".into(), c.into()));
    }
    site.handle("POST", url, &headers, body)
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).replace("&#x2f;", "/")
}

#[test]
fn pages_show_dags_runs_tasks_and_load_errors() {
    let dir = project();
    let s = site(dir.path(), true, None);
    let home = get(&s, "/");
    assert_eq!(home.status, 200, "{}", text(&home));
    let body = text(&home);
    assert!(body.contains("shop") && body.contains("nightly") && body.contains("the &lt;shop&gt; DAG"), "{body}");
    assert!(body.contains("broken.yml"), "the failed DAG file is listed: {body}");
    assert!(body.contains("class=\"sq st-failed\""), "{body}");
    let grid = text(&get(&s, "/dags/shop"));
    assert!(grid.contains("orders") && grid.contains("cell st-failed"), "{grid}");
    let run = get(&s, "/dags/shop/runs/manual__2025-01-02T00%3A00%3A00.000000%2B00%3A00");
    assert_eq!(run.status, 200, "{}", text(&run));
    let run = text(&run);
    assert!(run.contains("<svg class=\"gantt\"") && run.contains("<svg class=\"lineage\""), "{run}");
    assert!(
        run.contains(
            "not_null_orders_id</a></td><td><span class=\"state st-warn\">warn</span></td><td class=\"num\">3</td>"
        ),
        "a passing test with failing rows warned: {run}"
    );
    let task =
        text(&get(&s, "/dags/shop/runs/manual__2025-01-02T00%3A00%3A00.000000%2B00%3A00/tasks/model.shop.orders"));
    assert!(task.contains("boom"), "the error is shown: {task}");
    assert!(!task.contains("top secret file"), "a recorded log path out of the project is not read: {task}");
    assert!(task.contains("outside the project") || task.contains("not a path inside"), "{task}");
    assert!(!task.contains("hunter2-secret") && task.contains("*****"), "secrets are masked: {task}");
    assert_eq!(get(&s, "/dags/nope").status, 404);
    assert_eq!(get(&s, "/static/style.css").status, 200);
}

#[test]
fn paths_that_try_to_leave_are_refused() {
    let dir = project();
    let s = site(dir.path(), true, None);
    for url in [
        "/static/../secret.txt",
        "/static/..%2Fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/%2E%2E/secret.txt",
        "/dags/..%2F..%2Fsecret.txt",
        "/dags/shop/runs/..%2f..%2f..%2fsecret.txt",
        "/dags/shop/runs/x/tasks/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/project/..%5c..%5csecret.txt",
        "/static/%252e%252e%252fsecret.txt",
    ] {
        let r = get(&s, url);
        assert!(matches!(r.status, 400 | 404), "{url}: {}", r.status);
        assert!(!text(&r).contains("top secret file"), "{url}");
    }
}

#[test]
fn only_loopback_hosts_may_ask() {
    let dir = project();
    let s = site(dir.path(), true, None);
    let r = s.handle("GET", "/", &[("Host".into(), "evil.example:8080".into())], "");
    assert_eq!(r.status, 421);
}

#[test]
fn actions_need_the_csrf_token_and_the_right_to_act() {
    let dir = project();
    let s = site(dir.path(), true, None);
    let h = History::new(dir.path());
    assert_eq!(post(&s, "/dags/shop/pause", "paused=true", None).status, 403, "no token");
    assert_eq!(post(&s, "/dags/shop/pause", "paused=true&csrf=wrong", None).status, 403, "wrong token");
    assert!(!h.is_paused("shop"));
    let ok = post(&s, "/dags/shop/pause", &format!("paused=true&csrf={}", "c".repeat(32)), None);
    assert_eq!(ok.status, 303);
    assert!(h.is_paused("shop"));
    assert!(text(&get(&s, "/")).contains(">Unpause<"));
    let back = post(&s, "/dags/shop/pause", &format!("paused=true&next=%2F&csrf={}", "c".repeat(32)), None);
    assert_eq!(back.headers, [("Location", "/".to_string())], "back to the list");
    let away =
        post(&s, "/dags/shop/pause", &format!("paused=true&next=%2F%2Fevil.example&csrf={}", "c".repeat(32)), None);
    assert_eq!(away.headers, [("Location", "/dags/shop".to_string())], "never to another host");
    post(&s, "/dags/shop/pause", &format!("paused=false&csrf={}", "c".repeat(32)), None);
    assert!(!h.is_paused("shop"));
    // A bad trigger form is a message, and nothing runs.
    let bad = post(&s, "/dags/shop/trigger", &format!("logical_date=yesterday&csrf={}", "c".repeat(32)), None);
    assert_eq!(bad.status, 400);
    assert!(text(&bad).contains("not a logical date"));
    let bad = post(&s, "/dags/shop/trigger", &format!("vars=%5B1%5D&csrf={}", "c".repeat(32)), None);
    assert!(text(&bad).contains("not a YAML map"), "{}", text(&bad));

    // Bound beyond loopback without a token: read-only, and no forms shown.
    let ro = site(dir.path(), false, None);
    assert_eq!(post(&ro, "/dags/shop/pause", &format!("paused=true&csrf={}", "c".repeat(32)), None).status, 403);
    assert!(!h.is_paused("shop"));
    assert!(!text(&get(&ro, "/")).contains("name=\"csrf\""));
    // With a token: acting needs the cookie the login sets.
    let tok = "t".repeat(20);
    let withtok = site(dir.path(), false, Some(&tok));
    let form = format!("paused=true&csrf={}", "c".repeat(32));
    assert_eq!(post(&withtok, "/dags/shop/pause", &form, None).status, 403);
    assert_eq!(post(&withtok, "/login", "token=wrong", None).status, 403);
    let login = post(&withtok, "/login", &format!("token={tok}"), None);
    assert_eq!(login.status, 303);
    let cookie = login.headers.iter().find(|(k, _)| *k == "Set-Cookie").map(|(_, v)| v.clone()).expect("cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().expect("pair").to_string();
    assert_eq!(post(&withtok, "/dags/shop/pause", &form, Some(&pair)).status, 303);
    assert!(h.is_paused("shop"));
}

#[test]
fn the_report_is_one_file_with_every_node_and_no_network() {
    let dir = project();
    let (dags, _) = data::load_dags(dir.path());
    let dag = &dags["shop"];
    let run = History::new(dir.path()).runs("shop").remove(0);
    let out = dir.path().join("report.html");
    report(dag, &run, &out).expect("report");
    let html = std::fs::read_to_string(&out).expect("read");
    let graph = html.split("class=\"graph-data\">").nth(1).and_then(|s| s.split("</script>").next()).expect("data");
    let rows: Vec<serde_json::Value> = serde_json::from_str(graph).expect("json");
    let ids: Vec<&str> = rows.iter().filter_map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), run.tasks.len());
    for node in ["seed.shop.raw", "model.shop.orders"] {
        assert!(ids.contains(&node), "{node} in the graph: {ids:?}");
    }
    let boxes = html.matches("h180v26h-180z").count();
    assert_eq!(boxes, run.tasks.len(), "every node is drawn");
    assert!(html.contains("<style>") && html.contains("<script>"));
    for external in ["http://", "https://", "src=\"/", "href=\"/", "href=\"&#x2f;", "src=\"&#x2f;"] {
        let hits: Vec<&str> = html.match_indices(external).map(|(i, _)| &html[i..(i + 60).min(html.len())]).collect();
        // The SVG namespace is a name, not a fetch.
        assert!(hits.iter().all(|h| h.starts_with("http://www.w3.org/2000/svg")), "{external}: {hits:?}");
    }
}
