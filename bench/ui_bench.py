"""U1 and U2 (issue #25): `runner ui` over a long history and a large run.

U1: the grid page of a DAG with 1,000 runs of 200 nodes, served by `runner ui` (wall time of one
GET from this process, the server warmed by one request; the first request is reported apart).
U2: the run page of a 10,000-node run in headless Chromium (chromedriver's WebDriver API): from
navigation start to the page rendered, the server's work and the graph's layout included.

The projects come from gen_project.py; `runner ls` writes their manifest and `bench_ui` (an example
binary) writes the run history through runner's own history writers. Standard library only.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import gen_project

# What U2 reads from the page once navigation returned (after the load event). A frame that
# takes 50 ms or more is reported as a long animation frame; the last one that ended before this
# script ran is when the page's last style, layout and paint finished.
RENDERED = """
var done = arguments[arguments.length - 1];
var nav = performance.getEntriesByType('navigation')[0];
var fcp = performance.getEntriesByName('first-contentful-paint')[0];
var frames = [];
try {
  var o = new PerformanceObserver(function () {});
  o.observe({type: 'long-animation-frame', buffered: true});
  frames = o.takeRecords();
  o.disconnect();
} catch (e) {}
var frameEnd = 0;
frames.forEach(function (f) { frameEnd = Math.max(frameEnd, f.startTime + f.duration); });
done({
  response_end: nav.responseEnd,
  load: nav.loadEventEnd,
  fcp: fcp ? fcp.startTime : null,
  frame_end: frameEnd,
  bytes: nav.transferSize || nav.encodedBodySize,
  nodes: Array.prototype.reduce.call(document.querySelectorAll('svg.lineage path.node'),
    function (n, p) { return n + (p.getAttribute('d').match(/M/g) || []).length; }, 0),
  listed: JSON.parse(document.querySelector('script.graph-data').textContent).length
});
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(addr, method, path, body=None, timeout=300):
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, payload


class Ui:
    """`runner ui --port 0` on a project; stopped by `stop()`."""

    def __init__(self, runner, project_dir, log, failed):
        self.out = open(log, "ab")
        self.proc = subprocess.Popen([runner, "ui", "--port", "0", "--project-dir", project_dir],
                                     stdout=subprocess.PIPE, stderr=self.out)
        line = self.proc.stdout.readline().decode()
        if "http://" not in line:
            self.stop()
            raise failed(f"`runner ui` did not start: {line!r} (see {log})")
        self.addr = line.split("http://", 1)[1].split("/", 1)[0]

    def get(self, path):
        start = time.perf_counter()
        status, body = request(self.addr, "GET", path)
        return status, time.perf_counter() - start, len(body)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.out.close()


class Browser:
    """Headless Chromium through chromedriver; `None` from `start` when either is missing."""

    @staticmethod
    def start(log):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        driver = shutil.which("chromedriver")
        if not chromium or not driver:
            return None
        return Browser(chromium, driver, log)

    def __init__(self, chromium, driver, log):
        self.profile = tempfile.mkdtemp(prefix="runner-bench-chromium-")
        self.log = open(log, "ab")
        port = free_port()
        self.addr = f"127.0.0.1:{port}"
        self.driver = subprocess.Popen([driver, f"--port={port}"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while True:
            try:
                status, body = request(self.addr, "GET", "/status", timeout=5)
                if status == 200 and json.loads(body)["value"].get("ready"):
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("chromedriver never became ready")
            time.sleep(0.1)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={self.profile}"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "pageLoadStrategy": "normal",
                                                 "goog:chromeOptions": {"binary": chromium, "args": args}}}}
        value = self.cmd("POST", "/session", caps, session=False)
        self.session = value["sessionId"]

    def cmd(self, method, path, body=None, session=True):
        full = f"/session/{self.session}{path}" if session else path
        status, payload = request(self.addr, method, full, body)
        value = json.loads(payload)["value"]
        if status != 200:
            raise RuntimeError(f"WebDriver {method} {path}: {value}")
        return value

    def rendered(self, url):
        """Navigates to `url` (returns after the load event) and reads the page's timings, in ms."""
        self.cmd("POST", "/url", {"url": "about:blank"})
        self.cmd("POST", "/url", {"url": url})
        return self.cmd("POST", "/execute/async", {"script": RENDERED, "args": []})

    def stop(self):
        try:
            if getattr(self, "session", None):
                request(self.addr, "DELETE", f"/session/{self.session}", timeout=30)
        except OSError:
            pass
        self.driver.kill()
        self.driver.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def project(bench, run_timed, name, models, seeds, runs, failed):
    """A generated project with `runs` runs of its DAG in its history: (dir, newest run id, nodes)."""
    dest = os.path.join(bench.work, name)
    m, s, t = gen_project.generate(dest, models, seeds, 10, False, True)
    run_timed([bench.runner, "ls", "bench"], dest, bench.log)
    out = subprocess.run([bench.bench_ui, dest, "bench", str(runs)], capture_output=True, text=True)
    if out.returncode != 0:
        raise failed(f"bench_ui exited {out.returncode}: {out.stderr[-800:]}")
    return dest, out.stdout.strip().splitlines()[-1], m + s + t


def quote(run_id):
    return run_id.replace(":", "%3A").replace("+", "%2B")


def u1(bench, run_timed, failed):
    runs = 100 if bench.quick else 1000
    # 49 models, 4 seeds and 3 tests a model: 200 nodes.
    dest, _, nodes = project(bench, run_timed, "ui-grid", 49, 4, runs, failed)
    ui = Ui(bench.runner, dest, bench.log, failed)
    try:
        status, first, size = ui.get("/dags/bench")
        if status != 200:
            raise failed(f"GET /dags/bench answered {status}")
        times = [ui.get("/dags/bench")[1] for _ in range(max(bench.runs, 1) * 4)]
        status, wide, wide_size = ui.get("/dags/bench?runs=1000")
    finally:
        ui.stop()
    label = f"{runs} runs × {nodes} nodes, 25 shown"
    # The targets are for the full sizes; quick mode only proves the measurement runs.
    target, met = ("", None) if bench.quick else ("< 0.1 s", max(times) < 0.1)
    bench.record("U1", f"grid page, first request (reads every run file), {label}", "s", [first], "info", None)
    bench.record("U1", f"grid page, {label} ({size // 1024} KiB)", "s", times, target, met)
    bench.record("U1", f"grid page with all {runs} runs shown ({wide_size // 1024 // 1024} MiB)", "s", [wide],
                 "info", None)


def u2(bench, run_timed, failed):
    browser = Browser.start(bench.log)
    if browser is None:
        bench.skip("U2", "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
        return
    try:
        # 3 tests a model: 2,495 models, 20 seeds and 7,485 tests are 10,000 nodes.
        models, seeds = (245, 20) if bench.quick else (2495, 20)
        dest, run_id, nodes = project(bench, run_timed, "ui-run", models, seeds, 1, failed)
        ui = Ui(bench.runner, dest, bench.log, failed)
        try:
            url = f"http://{ui.addr}/dags/bench/runs/{quote(run_id)}"
            browser.rendered(url)  # warm-up: the server parses the manifest once, the browser starts
            rendered, server, loads = [], [], []
            for _ in range(max(bench.runs, 1)):
                t = browser.rendered(url)
                if t["nodes"] != nodes or t["listed"] != nodes:
                    raise failed(f"the lineage graph draws {t['nodes']} and lists {t['listed']} of {nodes} nodes")
                done = max(t["load"], t["fcp"] or 0, t["frame_end"])
                rendered.append(done / 1000)
                server.append(t["response_end"] / 1000)
                loads.append(t["load"] / 1000)
            size = t["bytes"]
        finally:
            ui.stop()
    finally:
        browser.stop()
    label = f"{nodes}-node run"
    target, met = ("", None) if bench.quick else ("< 1 s", max(rendered) < 1.0)
    bench.record("U2", f"run page in headless Chromium, navigation start → rendered, {label} "
                       f"({size // 1024} KiB)", "s", rendered, target, met)
    bench.record("U2", f"of which navigation start → response received, {label}", "s", server, "info", None)
    bench.record("U2", f"navigation start → load event end, {label}", "s", loads, "info", None)


def measure(bench, run_timed, failed):
    def guarded(fn):
        try:
            fn()
        except (RuntimeError, OSError, KeyError, TypeError, ValueError) as e:
            raise failed(f"{type(e).__name__}: {e}") from e

    only = set(bench.args.only.upper().split(",")) if bench.args.only else {"U1", "U2"}
    if "U1" in only:
        bench.measure("U1", lambda: guarded(lambda: u1(bench, run_timed, failed)))
    if "U2" in only:
        bench.measure("U2", lambda: guarded(lambda: u2(bench, run_timed, failed)))
