#!/usr/bin/env python3
"""Benchmark harness of issues #6, #21 and #25: measures P1-P7 and U1-U2 and prints one table.

Run through `bench/run.sh` (which builds the binaries first); standard library only.
Every measurement runs tool A and tool B alternately, so a ratio's min/median/max come
from pairs measured seconds apart on the same machine. A measurement that cannot run
is a failure (exit 1), except P1 when dbt cannot be installed (see --require-dbt).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import gen_project
import ui_bench
import utils_suite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 1800  # seconds; one command taking longer than this fails its measurement
PLAN_TIMEOUT = 120  # seconds; a planning command taking longer is recorded as "more than this"
PLAN_BUDGET = 60  # seconds per planning measurement: slow commands get fewer runs (at least one)


class Failed(Exception):
    """A measurement could not run; the message says which command and where its output is."""


class TimedOut(Failed):
    """A command ran past its time limit; `limit` is then a lower bound of its time."""

    def __init__(self, message, limit):
        super().__init__(message)
        self.limit = limit


def run_timed(cmd, cwd, log, env=None, timeout=TIMEOUT, ok=(0,)):
    """Runs `cmd` to completion; returns (wall seconds, peak RSS in MiB). An exit code not in `ok` fails."""
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        # Block in wait4 (no polling that would compete for the CPU); a timer kills a hung command.
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if elapsed >= timeout:
        raise TimedOut(f"`{' '.join(cmd)}` took more than {timeout} s (in {cwd})", timeout)
    if proc.returncode not in ok:
        with open(log, "rb") as f:
            tail = f.read()[-800:].decode(errors="replace")
        raise Failed(f"`{' '.join(cmd)}` exited {proc.returncode} (in {cwd}); end of {log}:\n{tail}")
    return elapsed, usage.ru_maxrss / 1024.0


def num(v):
    """Three significant digits, without exponents."""
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def spread(values):
    return min(values), statistics.median(values), max(values)


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.runs = args.runs or (1 if args.quick else 5)
        self.work = tempfile.mkdtemp(prefix="runner-bench-")
        self.log = os.path.join(self.work, "commands.log")
        target = args.target_dir
        self.runner = os.path.join(target, "debug", "runner")
        self.floor = os.path.join(target, "debug", "examples", "bench_floor")
        self.lock_handoff = os.path.join(target, "debug", "examples", "lock_handoff")
        self.bench_plan = os.path.join(target, "debug", "examples", "bench_plan")
        self.bench_ui = os.path.join(target, "debug", "examples", "bench_ui")
        self.dbt_bin = None
        self.dbt_skip = None
        self.rows = []  # (id, measure, unit, values, target text, met or None, runs)
        self.failures = []
        self.notes = []

    # ---- projects -------------------------------------------------------------------

    def example_project(self, dest):
        """The repository's own example project (dags, models, seeds, singular tests)."""
        os.makedirs(dest)
        for name in ["dags", "models", "seeds", "macros"]:
            if os.path.isdir(os.path.join(REPO, name)):
                shutil.copytree(os.path.join(REPO, name), os.path.join(dest, name))
        for name in ["dbt_project.yml", "profiles.yml", ".env"]:
            if os.path.exists(os.path.join(REPO, name)):
                shutil.copy(os.path.join(REPO, name), dest)
        # tests/ also holds the Rust integration tests: take only the SQL.
        os.makedirs(os.path.join(dest, "tests"))
        for f in os.listdir(os.path.join(REPO, "tests")):
            if f.endswith(".sql"):
                shutil.copy(os.path.join(REPO, "tests", f), os.path.join(dest, "tests"))
        return dict(dir=dest, dag="my_dag", db="shop.duckdb", name="example project")

    def generated(self, dest, models, trivial=False, seeds=None):
        seeds = 0 if trivial else (seeds if seeds is not None else max(1, min(20, models // 50)))
        m, s, t = gen_project.generate(dest, models, seeds, 100, trivial, not trivial)
        label = f"{m} trivial views" if trivial else f"{m} models, {s} seeds, {t} tests"
        return dict(dir=dest, dag="bench", db="bench.duckdb", name=label)

    def copy(self, project, suffix):
        dest = project["dir"] + "-" + suffix
        if os.path.exists(dest):
            shutil.rmtree(dest)
        shutil.copytree(project["dir"], dest)
        return dict(project, dir=dest)

    @staticmethod
    def fresh_db(project):
        for ext in ["", ".wal"]:
            path = os.path.join(project["dir"], project["db"] + ext)
            if os.path.exists(path):
                os.remove(path)

    # ---- tools ----------------------------------------------------------------------

    def runner_run(self, project):
        self.fresh_db(project)
        return run_timed([self.runner, "run", project["dag"]], project["dir"], self.log)[0]

    def dbt_env(self, project):
        env = dict(os.environ, DBT_PROFILES_DIR=project["dir"], DO_NOT_TRACK="1",
                   DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        env.pop("DUCKDB_DATABASE_PATH", None)
        return env

    def dbt_seed_run_test(self, project):
        self.fresh_db(project)
        env = self.dbt_env(project)
        total = 0.0
        for cmd in ["seed", "run", "test"]:
            total += run_timed([os.path.join(self.dbt_bin, "dbt"), cmd], project["dir"], self.log, env)[0]
        return total

    def floor_list(self, project):
        """The files of target/run/ in the order run_results.json lists their nodes."""
        target = os.path.join(project["dir"], "target")
        with open(os.path.join(target, "run_results.json")) as f:
            results = json.load(f)["results"]
        with open(os.path.join(target, "manifest.json")) as f:
            manifest = json.load(f)
        nodes = manifest["nodes"]
        name = manifest["metadata"].get("project_name") or next(iter(nodes.values()))["package_name"]
        files = []
        for r in results:
            node = nodes[r["unique_id"]]
            rel = node["original_file_path"]
            if node["resource_type"] == "test" and rel.endswith((".yml", ".yaml")):
                rel = os.path.join(rel, node["path"])
            path = os.path.join(target, "run", name, rel)
            if r["status"] not in ("skipped",) and not os.path.exists(path):
                raise Failed(f"`{r['unique_id']}` ran but `{path}` does not exist")
            if os.path.exists(path):
                files.append(path)
        if not files:
            raise Failed(f"no SQL under {os.path.join(target, 'run')}")
        listing = os.path.join(project["dir"] + "-floor.list")
        with open(listing, "w") as f:
            f.write("\n".join(files) + "\n")
        return listing

    def floor_run(self, project, listing, python=False):
        """DuckDB alone running the list, on a fresh file named as runner's (the SQL names its catalog)."""
        d = project["dir"] + ("-pyfloor" if python else "-floor")
        os.makedirs(d, exist_ok=True)
        db = os.path.join(d, project["db"])
        for ext in ["", ".wal"]:
            if os.path.exists(db + ext):
                os.remove(db + ext)
        if python:
            cmd = [os.path.join(self.dbt_bin, "python"), os.path.join(REPO, "bench", "floor.py"), db, listing]
        else:
            cmd = [self.floor, db, listing]
        # In runner's project directory: seeds are read by paths relative to it.
        return run_timed(cmd, project["dir"], self.log)[0]

    # ---- measurements ---------------------------------------------------------------

    def record(self, pid, measure, unit, values, target=None, ok=None, runs=None):
        """`values` are the runs' results, or (min, median, max) of `runs` runs made elsewhere."""
        runs = runs or len(values)
        self.rows.append((pid, measure, unit, values, target or "", ok, runs))
        lo, mid, hi = spread(values)
        print(f"  {pid} {measure}: min {num(lo)} / median {num(mid)} / max {num(hi)} {unit} ({runs} runs)", flush=True)

    def skip(self, pid, why):
        self.notes.append(f"{pid} skipped: {why}")
        print(f"  {pid} SKIPPED: {why}", flush=True)

    def measure(self, pid, fn):
        try:
            fn()
        except Failed as e:
            self.failures.append(f"{pid}: {e}")
            print(f"  {pid} FAILED: {e}", file=sys.stderr, flush=True)

    def p1(self, projects):
        if self.dbt_bin is None:
            self.notes.append(f"P1 skipped: {self.dbt_skip}")
            print(f"  P1 SKIPPED: {self.dbt_skip}", flush=True)
            return
        for project in projects:
            dbt, ours = self.copy(project, "dbt"), self.copy(project, "runner")
            if not self.quick:  # warm-up: dbt's partial parse file, page cache
                self.dbt_seed_run_test(dbt)
                self.runner_run(ours)
            ratios, dbt_s, runner_s = [], [], []
            for _ in range(self.runs):
                d = self.dbt_seed_run_test(dbt)
                r = self.runner_run(ours)
                dbt_s.append(d)
                runner_s.append(r)
                ratios.append(d / r)
            name = project["name"]
            self.record("P1", f"dbt seed+run+test, {name}", "s", dbt_s)
            self.record("P1", f"runner run, {name}", "s", runner_s)
            lo = min(ratios)
            self.record("P1", f"dbt ÷ runner, {name}", "×", ratios, "≥ 100×", lo >= 100)

    def floor_pairs(self, pid, project, target, limit):
        ours = self.copy(project, "p" + pid[1:])
        if not self.quick:
            self.runner_run(ours)
        ratios, ours_s, floor_s, py_ratios = [], [], [], []
        for _ in range(self.runs):
            r = self.runner_run(ours)
            listing = self.floor_list(ours)
            f = self.floor_run(ours, listing)
            ours_s.append(r)
            floor_s.append(f)
            ratios.append(r / f)
            if self.dbt_bin is not None:
                py_ratios.append(r / self.floor_run(ours, listing, python=True))
        name = project["name"]
        self.record(pid, f"runner run, {name}", "s", ours_s)
        self.record(pid, f"floor (bench_floor), {name}", "s", floor_s)
        self.record(pid, f"runner ÷ floor, {name}", "×", ratios, target, max(ratios) <= limit)
        if py_ratios:
            self.record(pid, f"runner ÷ python duckdb floor (release build), {name}", "×", py_ratios,
                        "info", None)

    def p3_p6(self, sizes, mem_size):
        for n in sizes:
            project = self.generated(os.path.join(self.work, f"plan{n}"), n)
            # The target (issue #20) is planning's own time on 2 cores; `ls` and `compile` add
            # writing manifest.json and target/compiled/, reported without one.
            planning_limit = {10000: 0.6, 100000: 6.0}.get(n)
            commands = [("runner ls", [self.runner, "ls", project["dag"]], None),
                        ("runner compile", [self.runner, "compile", project["dag"]], None),
                        ("planning alone (bench_plan)", [self.bench_plan, project["dir"], project["dag"]],
                         planning_limit)]
            for what, argv, limit in commands:
                times, rss = [], []
                try:
                    # The first run warms the page cache and is dropped, except in quick mode
                    # and for a command slower than half the budget, which runs only once.
                    first = run_timed(argv, project["dir"], self.log, timeout=PLAN_TIMEOUT)
                    if self.quick or first[0] > PLAN_BUDGET / 2:
                        times.append(first[0])
                        rss.append(first[1])
                    runs = max(1, min(self.runs, int(PLAN_BUDGET / max(first[0], 1e-3))))
                    for _ in range(runs - len(times)):
                        t, m = run_timed(argv, project["dir"], self.log, timeout=PLAN_TIMEOUT)
                        times.append(t)
                        rss.append(m)
                except TimedOut as e:
                    self.notes.append(f"P3 {what}, {project['name']}: {e}")
                    times, rss = [e.limit], []
                    what += " (stopped: a lower bound)"
                target = f"≤ {num(limit)} s" if limit else ""
                ok = (max(times) <= limit) if limit else None
                self.record("P3", f"{what}, {project['name']}", "s", times, target, ok)
                if n == mem_size and rss:
                    self.record("P6", f"peak RSS, {what}, {project['name']}", "MiB", rss, "< 300 MB",
                                max(rss) * 1.048576 < 300)

    def p5(self):
        iterations = "3" if self.quick else "30"
        out = subprocess.run([self.lock_handoff, iterations], capture_output=True, text=True, timeout=TIMEOUT)
        if out.returncode != 0:
            raise Failed(f"lock_handoff exited {out.returncode}: {out.stderr[-1500:]}")
        found = 0
        pattern = re.compile(r"^(.*) over \d+ runs: min ([\d.]+) ms, p50 ([\d.]+) ms, max ([\d.]+) ms$")
        for line in out.stdout.splitlines():
            m = pattern.match(line.strip())
            if not m:
                continue
            what = m.group(1)
            nums = [float(m.group(i)) for i in (2, 3, 4)]
            is_p5 = "(P5)" in what
            self.record("P5", what, "ms", nums, "p50 < 10 ms" if is_p5 else "", (nums[1] < 10) if is_p5 else None,
                        runs=int(iterations))
            found += 1
        if found != 3:
            raise Failed(f"lock_handoff printed {found} of 3 measurements:\n{out.stdout}")

    # ---- report ---------------------------------------------------------------------

    def setup_dbt(self):
        script = os.path.join(REPO, "scripts", "dbt-venv.sh")
        try:
            out = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            out = None
        if out is not None and out.returncode == 0 and os.path.exists(os.path.join(out.stdout.strip(), "dbt")):
            self.dbt_bin = out.stdout.strip()
        else:
            why = "timed out" if out is None else (out.stderr.strip().splitlines() or ["no output"])[-1]
            self.dbt_skip = f"cannot install dbt-core + dbt-duckdb from PyPI ({why})"

    def versions(self):
        v = {"runner's DuckDB (duckdb crate)": subprocess.run([self.floor, "--version"], capture_output=True,
                                                              text=True).stdout.strip()}
        if self.dbt_bin:
            py = os.path.join(self.dbt_bin, "python")
            v["python duckdb (dbt's)"] = "v" + subprocess.run(
                [py, "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True).stdout.strip()
            dbt = subprocess.run([py, "-c", "from importlib.metadata import version as v;"
                                  "print(v('dbt-core'), v('dbt-duckdb'))"], capture_output=True, text=True)
            core, adapter = (dbt.stdout.split() + ["?", "?"])[:2]
            v["dbt-core / dbt-duckdb"] = f"{core} / {adapter}"
        return v

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
            with open("/proc/meminfo") as f:
                mem = int(next(l.split()[1] for l in f if l.startswith("MemTotal"))) / 1024 / 1024
        except (OSError, StopIteration):
            mem = 0
        return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"

    def table(self, versions):
        lines = [f"Machine: {self.machine()}; {datetime.date.today().isoformat()}; "
                 + "; ".join(f"{k}: {v}" for k, v in versions.items())
                 + (" (quick mode)." if self.quick else "."), "",
                 "| id | measure | runs | min | median | max | target | met |", "|---|---|---|---|---|---|---|---|"]
        for pid, measure, unit, values, target, ok, runs in self.rows:
            more = "> " if "lower bound" in measure else ""
            cells = [more + (f"{num(v)} {unit}" if unit != "×" else f"{num(v)}×") for v in spread(values)]
            met = "" if ok is None else ("yes" if ok else "**no**")
            lines.append(f"| {pid} | {measure} | {runs} | {' | '.join(cells)} | {target} | {met} |")
        return "\n".join(lines)

    def snapshot_binaries(self):
        """Every measurement uses the binaries as built now, even if a build replaces them meanwhile:
        hard links keep the old files (cargo and the linker replace outputs, never rewrite them)."""
        bindir = os.path.join(self.work, "bin")
        os.makedirs(bindir)
        for attr in ["runner", "floor", "lock_handoff", "bench_plan", "bench_ui"]:
            src = getattr(self, attr)
            dest = os.path.join(bindir, os.path.basename(src))
            try:
                os.link(src, dest)
            except OSError:
                shutil.copy2(src, dest)
            setattr(self, attr, dest)

    def main(self):
        for exe in [self.runner, self.floor, self.lock_handoff, self.bench_plan, self.bench_ui]:
            if not os.access(exe, os.X_OK):
                raise SystemExit(f"error: `{exe}` is not built (hint: run bench/run.sh, which builds it)")
        self.snapshot_binaries()
        print(f"== work directory {self.work}; command output in {self.log}", flush=True)
        self.setup_dbt()
        versions = self.versions()
        for k, v in versions.items():
            print(f"== {k}: {v}", flush=True)
        only = set(self.args.only.upper().split(",")) if self.args.only else None
        wants = lambda *ids: only is None or bool(only & set(ids))  # noqa: E731
        if wants("P1", "P2"):
            example = self.example_project(os.path.join(self.work, "example"))
            jaffle = self.generated(os.path.join(self.work, "jaffle"), 8, seeds=3)
        if wants("P1"):
            print("== P1: dbt-core + dbt-duckdb ÷ runner, seed+run+test, threads 1", flush=True)
            self.measure("P1", lambda: self.p1([example, jaffle]))
        if wants("P2"):
            print("== P2: runner ÷ floor (the SQL runner ran, through DuckDB alone)", flush=True)
            mixed = self.generated(os.path.join(self.work, "mixed"), 30 if self.quick else 200)
            for p in [example, jaffle, mixed]:
                self.measure("P2", lambda p=p: self.floor_pairs("P2", p, "≤ 1.2×", 1.2))
        if wants("P3", "P6"):
            print("== P3 / P6: planning (runner ls, runner compile) and its peak memory", flush=True)
            sizes = [300] if self.quick else [1000, 10000, 100000]
            self.measure("P3", lambda: self.p3_p6(sizes, sizes[0] if self.quick else 10000))
        if wants("P4"):
            print("== P4: trivial view models end to end ÷ floor", flush=True)
            views = self.generated(os.path.join(self.work, "views"), 100 if self.quick else 1000, trivial=True)
            self.measure("P4", lambda: self.floor_pairs("P4", views, "≤ 1.2×", 1.2))
        if wants("P5"):
            print("== P5: lock handoff between two processes", flush=True)
            self.measure("P5", self.p5)
        if wants("P7"):
            print("== P7: dbt-utils' integration suite, dbt seed+run+test ÷ runner seed+run+test", flush=True)
            self.measure("P7", lambda: utils_suite.measure(self, run_timed))
        if wants("U1", "U2"):
            print("== U1 / U2: runner ui: the grid over a long history, a large run's page in Chromium", flush=True)
            ui_bench.measure(self, run_timed, Failed)
        print()
        print(self.table(versions))
        for n in self.notes:
            print(f"\nnote: {n}")
        if self.args.out:
            with open(self.args.out, "w") as f:
                f.write(self.table(versions) + "\n")
        expected = {"P2", "P3", "P4", "P5", "P6", "U1"} | ({"P1"} if self.dbt_bin else set())
        if only is not None:
            expected &= only
        missing = expected - {r[0] for r in self.rows}
        if self.dbt_bin is None and self.args.require_dbt:
            self.failures.append(f"P1: {self.dbt_skip}")
        if missing and not self.failures:
            self.failures.append(f"no result for {', '.join(sorted(missing))}")
        if self.failures:
            print("\nerror: not every measurement ran:", file=sys.stderr)
            for f in self.failures:
                print(f"  {f}", file=sys.stderr)
            return 1
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target-dir", required=True, help="CARGO_TARGET_DIR holding debug/runner and the examples")
    ap.add_argument("--quick", action="store_true", help="one run each, small sizes: proves every measurement runs")
    ap.add_argument("--runs", type=int, help="runs per measurement (default 5, quick 1)")
    ap.add_argument("--out", help="also write the results table to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--only", help="only these measurements, e.g. `U1,U2` or `P3` (P3 and P6 run together)")
    ap.add_argument("--require-dbt", action="store_true", help="fail instead of skipping P1 when dbt cannot be installed")
    return Bench(ap.parse_args()).main()


if __name__ == "__main__":
    sys.exit(main())
