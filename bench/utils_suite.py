"""P7 (issue #21): dbt-utils' integration suite end to end, dbt ÷ runner.

`dbt seed`, `dbt run`, `dbt test` against `runner seed`, `runner run` (no DAG:
dbt's run), `runner test`, each tool in its own copy of the suite, alternating,
threads 1 (the suite's profile), a fresh database each run; `deps` runs once per
copy, untimed. Both tools exit 1 on this suite (dbt itself errors on a few nodes,
see differential/dbt_utils/README.md), so exit codes 0 and 1 count as a run.

Owns only this measurement; the timing, the table and the notes are harness.py's.
The suite is third-party code read from ../shared/conformance/dbt-utils and
copied to the harness's work directory, never into the repository. Skipped,
with a note, when the suite or the dbt venv is absent, or while runner cannot
load the suite (exit 2: the loading work of issue #21 is not done), so the
quick run CI makes stays green until then; tests/conformance_dbt_utils.rs is
what fails on a suite runner cannot load.
"""

import os
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(REPO, "..", "shared", "conformance", "dbt-utils")
PROFILE = os.path.join(REPO, "differential", "dbt_utils", "profiles.yml")
LEFT_OUT = {"target", "logs", "dbt_packages", "package-lock.yml", "utils.duckdb", "utils.duckdb.wal"}
STEPS = ["seed", "run", "test"]


def copy_suite(dest):
    """A copy of the suite with the profile written in; returns its integration_tests project."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(SUITE, dest, symlinks=True, ignore=lambda d, names: [n for n in names if n in LEFT_OUT])
    project = os.path.join(dest, "integration_tests")
    if not os.path.exists(os.path.join(project, "profiles.yml")):
        shutil.copy(PROFILE, project)
    return project


def env_for(project):
    env = dict(os.environ, DUCKDB_DATABASE_PATH=os.path.join(project, "utils.duckdb"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="False", DO_NOT_TRACK="1")
    env.pop("DBT_PROFILES_DIR", None)
    return env


def fresh_db(project):
    for ext in ["", ".wal"]:
        path = os.path.join(project, "utils.duckdb" + ext)
        if os.path.exists(path):
            os.remove(path)


def steps(run_timed, project, command, log):
    """seed + run + test, one process each, from a fresh database; total wall seconds."""
    fresh_db(project)
    env = env_for(project)
    return sum(run_timed(command(step), project, log, env, ok=(0, 1))[0] for step in STEPS)


def runner_cannot_load(runner, project):
    """Why runner cannot run the suite yet (`deps` or a load exits 2), or None."""
    env = env_for(project)
    for args in [["deps", "--project-dir", project], ["ls", "--project-dir", project, "--profiles-dir", project]]:
        out = subprocess.run([runner] + args, cwd=project, env=env, capture_output=True, text=True)
        if out.returncode == 2:
            first = next((l for l in (out.stderr + out.stdout).splitlines() if l.strip()), "no output")
            return f"`runner {args[0]}` exits 2: {first.strip()}"
    return None


def measure(bench, run_timed):
    """Records P7's rows on `bench` (harness.Bench), or a note saying why it was skipped;
    `run_timed` is harness.py's (it raises the harness's `Failed` when a command fails)."""
    if not os.path.exists(os.path.join(SUITE, "integration_tests", "dbt_project.yml")):
        return bench.skip("P7", f"dbt-utils' suite is not at {os.path.normpath(SUITE)}")
    if bench.dbt_bin is None:
        return bench.skip("P7", f"no dbt venv ({bench.dbt_skip})")
    ours = copy_suite(os.path.join(bench.work, "utils-runner"))
    why = runner_cannot_load(bench.runner, ours)
    if why:
        return bench.skip("P7", f"runner cannot load dbt-utils' suite yet: {why}")
    theirs = copy_suite(os.path.join(bench.work, "utils-dbt"))
    dbt = os.path.join(bench.dbt_bin, "dbt")
    run_timed([dbt, "deps", "--profiles-dir", "."], theirs, bench.log, env_for(theirs))
    dbt_cmd = lambda step: [dbt, step, "--profiles-dir", "."]  # noqa: E731
    runner_cmd = lambda step: [bench.runner, step, "--project-dir", ours, "--profiles-dir", ours]  # noqa: E731
    if not bench.quick:  # warm-up: dbt's partial parse file, page cache
        steps(run_timed, theirs, dbt_cmd, bench.log)
        steps(run_timed, ours, runner_cmd, bench.log)
    ratios, dbt_s, runner_s = [], [], []
    for _ in range(bench.runs):
        d = steps(run_timed, theirs, dbt_cmd, bench.log)
        r = steps(run_timed, ours, runner_cmd, bench.log)
        dbt_s.append(d)
        runner_s.append(r)
        ratios.append(d / r)
    bench.record("P7", "dbt seed+run+test, dbt-utils suite", "s", dbt_s)
    bench.record("P7", "runner seed+run+test, dbt-utils suite", "s", runner_s)
    bench.record("P7", "dbt ÷ runner, dbt-utils suite", "×", ratios, "≥ 20×", min(ratios) >= 20)
