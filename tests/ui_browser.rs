//! `runner ui` and `runner report` in a real browser: Debian's headless
//! Chromium driven through chromedriver's WebDriver API (a small JSON client
//! over `std::net`, see `common::http`). Skipped with a message when
//! Chromium or chromedriver is missing, unless `RUNNER_REQUIRE_BROWSER=1`
//! (set by `.ci/run`, which installs both).

mod common;
use common::http::{request, Response, Ui};
use common::Fixture;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How many node boxes the lineage graph draws (one `M` a box in its paths).
const DRAWN: &str = "return Array.prototype.reduce.call(document.querySelectorAll('svg.lineage path.node'), function (n, p) { return n + p.getAttribute('d').split('M').length - 1; }, 0)";
/// The node the graph's search went to.
const CURRENT_BODY: &str = "(document.querySelector('svg.lineage .mark.current') || {getAttribute: function () { return null; }}).getAttribute('data-id')";
const CURRENT: &str = "return (document.querySelector('svg.lineage .mark.current') || {getAttribute: function () { return null; }}).getAttribute('data-id')";
/// Whether that node is inside the graph's view and labels are shown.
const CURRENT_IN_VIEW: &str = "var svg = document.querySelector('svg.lineage'), m = svg.querySelector('.mark.current'), b = svg.getAttribute('viewBox').split(' ').map(Number), x = +m.getAttribute('x'), y = +m.getAttribute('y'); return x >= b[0] && x + 180 <= b[0] + b[2] && y >= b[1] && y + 26 <= b[1] + b[3] && !svg.classList.contains('far') && svg.classList.contains('searching')";
/// The centre of that node in the viewport, after scrolling it into view.
const CURRENT_CENTRE: &str = "var svg = document.querySelector('svg.lineage'), m = svg.querySelector('.mark.current'); m.scrollIntoView({block: 'center'}); var r = m.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]";

fn find_binary(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().flat_map(|n| path.split(':').map(move |d| Path::new(d).join(n))).find(|p| p.is_file())
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    addr: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
    _profile: tempfile::TempDir,
}

fn call(addr: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let r: Response = request(addr, method, path, &[("Content-Type", "application/json")], body.as_bytes());
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("{method} {path}: {}", r.text()));
    assert_eq!(r.status, 200, "{method} {path}: {v}");
    v["value"].clone()
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(&self.driver.addr, method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no `{css}`: {v}")).to_string()
    }

    fn count(&self, css: &str) -> usize {
        self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})))
            .as_array()
            .map_or(0, Vec::len)
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None).as_str().unwrap_or_default().to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Types `text` into the element (WebDriver key codes allowed).
    fn keys(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({"text": text})));
    }

    /// Moves the mouse to a point of the viewport, and clicks there if asked.
    fn pointer(&self, x: f64, y: f64, click: bool) {
        let mut steps =
            vec![json!({"type": "pointerMove", "x": x.round() as i64, "y": y.round() as i64, "origin": "viewport"})];
        if click {
            steps.push(json!({"type": "pointerDown", "button": 0}));
            steps.push(json!({"type": "pointerUp", "button": 0}));
        }
        let mouse = json!({"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": steps});
        self.cmd("POST", "/actions", Some(json!({"actions": [mouse]})));
    }

    fn js(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Waits until `script` returns true.
    fn wait_js(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.js(script) != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what} at {}", self.url());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A screenshot of the window, checked in the browser itself (it
    /// decodes the PNG into a canvas): the number of distinct colours
    /// (sampled) and the share of pixels that differ from the most common one.
    fn screenshot_ink(&self) -> (u64, f64) {
        let png = self.cmd("GET", "/screenshot", None);
        let script = r#"
            var done = arguments[arguments.length - 1], img = new Image();
            img.onload = function () {
                var c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                var x = c.getContext('2d');
                x.drawImage(img, 0, 0);
                var d = x.getImageData(0, 0, c.width, c.height).data, counts = {}, n = 0, top = 0;
                for (var i = 0; i < d.length; i += 16) {
                    var k = d[i] + ',' + d[i + 1] + ',' + d[i + 2];
                    counts[k] = (counts[k] || 0) + 1; n++;
                }
                for (var key in counts) if (counts[key] > top) top = counts[key];
                done([Object.keys(counts).length, 1 - top / n]);
            };
            img.onerror = function () { done(null); };
            img.src = 'data:image/png;base64,' + arguments[0];
        "#;
        let v = self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": [png]})));
        (v[0].as_u64().unwrap_or_else(|| panic!("the screenshot did not decode: {v}")), v[1].as_f64().unwrap_or(0.0))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = request(&self.driver.addr, "DELETE", &format!("/session/{}", self.id), &[], b"");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start(chromium: &Path, chromedriver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { child, addr: format!("127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(&driver.addr).is_ok() {
            let r = request(&driver.addr, "GET", "/status", &[], b"");
            if serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["value"]["ready"] == json!(true)) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = chromium;
    driver
}

fn session<'a>(driver: &'a Driver, chromium: &Path) -> Session<'a> {
    let profile = tempfile::tempdir().expect("profile dir");
    let args = [
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
    }}});
    let v = call(&driver.addr, "POST", "/session", Some(caps));
    let id = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
    Session { driver, id, _profile: profile }
}

#[test]
fn the_ui_and_the_report_in_headless_chromium() {
    let required = std::env::var("RUNNER_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let (Some(chromium), Some(chromedriver)) = (
        find_binary("RUNNER_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]),
        find_binary("RUNNER_CHROMEDRIVER", &["chromedriver"]),
    ) else {
        assert!(!required, "RUNNER_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (hint: apt-get install chromium chromium-driver)");
        eprintln!("skipped: chromium or chromedriver not found (apt-get install chromium chromium-driver; RUNNER_REQUIRE_BROWSER=1 makes this fail)");
        return;
    };
    let started = Instant::now();
    let step = |what: &str| eprintln!("ui_browser: {:>6.1}s {what}", started.elapsed().as_secs_f64());
    let f = Fixture::shop();
    f.write("dbt_project.yml", "name: shop\nprofile: shop\n");
    f.write("models/bad.sql", "select * from missing_table_xyz\n");
    // Slow enough (a few seconds) that the run page is seen running first.
    f.write(
        "models/slow.sql",
        "{{ config(materialized='table') }}\nselect count(*) as n from range(9000) a, range(9000) b where (a.range * 7 + b.range) % 1013 = 5\n",
    );
    assert_eq!(f.run(&["run", "my_dag"]).code, 1, "the bad model fails the first run");
    let ui = Ui::start(&f, &[]);
    step("runner ui started");
    let base = format!("http://{}", ui.addr);
    let driver = start(&chromium, &chromedriver);
    let s = session(&driver, &chromium);
    step("browser session");

    // The DAG list shows the example DAG.
    s.go(&format!("{base}/"));
    assert!(s.text("tr.dag[data-dag='my_dag'] a.dag-link").contains("my_dag"));
    assert_eq!(s.count("tr.dag[data-dag='my_dag'] .sq.st-failed"), 1, "its failed run as a red square");
    let (colours, ink) = s.screenshot_ink();
    assert!(colours >= 8 && ink > 0.02, "the DAG list renders ({colours} colours, {ink:.3} ink)");

    step("DAG list checked");
    // Trigger a run from the page; it appears and finishes without a reload.
    s.click("tr.dag[data-dag='my_dag'] button.trigger");
    s.wait_js("return location.pathname.indexOf('/runs/manual__') > 0", "the new run's page");
    s.js("window.__notReloaded = true; return true");
    assert_eq!(s.text("#run-state"), "running", "the run is seen running first");
    s.wait_js(
        "var e = document.getElementById('run-state'); return !!e && e.textContent !== 'running' && e.textContent !== 'queued'",
        "the run to finish",
    );
    assert_eq!(s.js("return window.__notReloaded === true"), json!(true), "updated in place, not reloaded");
    assert_eq!(s.text("#run-state"), "failed");
    let nodes = s.js(DRAWN).as_u64().unwrap_or(0);
    assert!(nodes >= 8, "the lineage graph has every node: {nodes}");
    let (colours, ink) = s.screenshot_ink();
    assert!(colours >= 8 && ink > 0.02, "the run page renders ({colours} colours, {ink:.3} ink)");
    let run_id = s.url().rsplit('/').next().map(|id| id.replace("%3A", ":").replace("%2B", "+")).expect("run id");

    step("triggered run finished");
    // Find a node by name: every match outlined, the exact name first and
    // zoomed to (labelled), Enter goes to the next.
    s.keys(".graph-find", "customers");
    s.wait_js("return / found$/.test(document.querySelector('.graph-found').textContent)", "the search result");
    let found: u64 = s.text(".graph-found").split(' ').next().and_then(|n| n.parse().ok()).expect("a count");
    assert!(found >= 2, "customers, raw_customers and tests on them: {found}");
    assert_eq!(s.js("return document.querySelectorAll('svg.lineage .mark:not(.current)').length"), json!(found));
    assert_eq!(s.js(CURRENT), json!("model.shop.customers"), "an exact name first");
    assert_eq!(s.js(CURRENT_IN_VIEW), json!(true), "zoomed to it, labels shown");
    s.keys(".graph-find", "\u{E007}");
    s.wait_js(&format!("return ({CURRENT_BODY}) !== 'model.shop.customers'"), "Enter to go to the next node");
    assert_eq!(s.js(CURRENT_IN_VIEW), json!(true));
    // A node under the pointer has a tooltip and opens its task.
    s.js("var i = document.querySelector('.graph-find'); i.value = ''; i.dispatchEvent(new Event('input', {bubbles: true})); return true");
    s.keys(".graph-find", "bad");
    s.wait_js(&format!("return ({CURRENT_BODY}) === 'model.shop.bad'"), "the failed model found");
    let at = s.js(CURRENT_CENTRE);
    let (x, y) = (at[0].as_f64().expect("x"), at[1].as_f64().expect("y"));
    s.pointer(x, y, false);
    s.wait_js("var t = document.querySelector('svg.lineage > title'); return !!t && t.textContent === 'model.shop.bad (failed)'", "the tooltip");
    s.pointer(x, y, true);
    s.wait_js(
        "return !!document.getElementById('task-state') && location.pathname.endsWith('/tasks/model.shop.bad')",
        "the node's task page",
    );
    step("lineage search and click");
    // Open a failed cell of the grid and read its error.
    s.go(&format!("{base}/dags/my_dag"));
    s.click("tr[data-node='model.shop.bad'] a.cell.st-failed");
    s.wait_js("return !!document.getElementById('task-state')", "the task page");
    assert!(s.text("pre.error").contains("missing_table_xyz"), "the error is readable");

    step("failed cell read");
    // Pause and unpause from the list.
    s.go(&format!("{base}/"));
    s.click("tr.dag[data-dag='my_dag'] button.pause-toggle");
    s.wait_js("var e = document.querySelector(\"tr.dag[data-dag='my_dag'] .paused-state\"); return !!e && e.textContent === 'paused'", "paused");
    let dags = f.run(&["dags", "--output", "json"]);
    assert!(dags.stdout.contains("\"paused\": true"), "{}", dags.stdout);
    s.click("tr.dag[data-dag='my_dag'] button.pause-toggle");
    s.wait_js("var e = document.querySelector(\"tr.dag[data-dag='my_dag'] .paused-state\"); return !!e && e.textContent === 'active'", "active");

    step("paused and unpaused");
    // The report opens from a file, shows every node, and fetches nothing.
    drop(ui);
    let out = f.path().join("report.html");
    let r = f.run(&["report", &run_id, "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tasks: Vec<Value> = serde_json::from_str(&f.run(&["tasks", &run_id, "--output", "json"]).stdout).expect("json");
    s.go(&format!("file://{}", out.display()));
    assert_eq!(s.js(DRAWN), json!(tasks.len()), "every node is drawn");
    let listed = s.js(
        "return JSON.parse(document.querySelector('script.graph-data').textContent).map(function (r) { return r[0]; })",
    );
    for t in &tasks {
        let node = t["node"].as_str().expect("node");
        assert!(listed.as_array().is_some_and(|ids| ids.contains(&json!(node))), "{node}");
    }
    assert_eq!(s.js("return performance.getEntriesByType('resource').length"), json!(0), "nothing fetched");
    let (colours, ink) = s.screenshot_ink();
    assert!(colours >= 8 && ink > 0.02, "the report renders ({colours} colours, {ink:.3} ink)");
}
