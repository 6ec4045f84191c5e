"""Regenerates differential/dbt_utils/expected/ from real dbt on dbt-utils' suite.

dbt-utils' integration suite (../shared/conformance/dbt-utils, see its README)
is third-party code: it is read from there, copied to a temporary directory
and never copied into this repository. Only what dbt made of it is committed:

  expected/results.json    each step's exit code (`dbt deps`, `seed`, `run`,
                           `test`), then one line per node: the step, its
                           unique_id, status and failures, from that step's
                           target/run_results.json
  expected/relations.json  every relation in the DuckDB file after the last
                           step, one per line, dumped by ../dump.py's
                           `dump_db` (schema, name, view or table, column
                           names, every row cast to text and sorted by DuckDB)

Both are sorted and hold nothing that depends on the machine or the clock,
except the columns named in CLOCK, computed from the current time when the
view is queried: their values are masked by `mask_clock` (fractional
seconds dropped, each digit an `N`), so the column's type still shows
(`NNNN-NN-NN NN:NN:NN` against `…+NN` for a timestamp with time zone).
tests/conformance_dbt_utils.rs runs runner on the same copy and must dump and
mask the same way; it reads CLOCK from relations.json. Run through regen.sh,
which provides the pinned dbt venv; never edit expected/ by hand.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import dump  # noqa: E402  (differential/dump.py: the dump every differential case shares)

DBT = os.path.join(os.path.dirname(sys.executable), "dbt")
SUITE = os.path.join(REPO, "..", "shared", "conformance", "dbt-utils")
STEPS = ["deps", "seed", "run", "test"]
# What a copy leaves out: earlier runs' output, never part of the suite.
LEFT_OUT = {"target", "logs", "dbt_packages", "package-lock.yml", "utils.duckdb", "utils.duckdb.wal"}
# Relation -> columns whose values come from the clock (`current_timestamp` in a view).
CLOCK = {
    "main.recency_time_excluded": ["created_at"],
    "main.recency_time_included": ["created_at"],
}


def mask_clock(value):
    if value is None:
        return None
    return re.sub(r"[0-9]", "N", re.sub(r"\.[0-9]+", "", value))


def copy_suite(src, dest):
    shutil.copytree(src, dest, symlinks=True, ignore=lambda d, names: [n for n in names if n in LEFT_OUT])
    project = os.path.join(dest, "integration_tests")
    if not os.path.exists(os.path.join(project, "profiles.yml")):
        shutil.copy(os.path.join(HERE, "profiles.yml"), project)
    return project


def masked(relations):
    for rel in relations:
        columns = CLOCK.get(f"{rel['schema']}.{rel['name']}", [])
        for i, name in enumerate(rel["columns"]):
            if name in columns:
                for row in rel["rows"]:
                    row[i] = mask_clock(row[i])
    return relations


def run_suite(src):
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_suite(src, os.path.join(tmp, "dbt-utils"))
        db = os.path.join(project, "utils.duckdb")
        env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="False", DUCKDB_DATABASE_PATH=db)
        env.pop("DBT_PROFILES_DIR", None)
        steps, results = [], []
        for step in STEPS:
            rr = os.path.join(project, "target", "run_results.json")
            if os.path.exists(rr):
                os.remove(rr)
            proc = subprocess.run([DBT, step, "--profiles-dir", "."], cwd=project, env=env,
                                  capture_output=True, text=True)
            print(f"  dbt {step} -> exit {proc.returncode}", file=sys.stderr)
            if proc.returncode not in (0, 1):
                sys.exit(f"error: `dbt {step}` exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr}")
            steps.append({"step": step, "exit_code": proc.returncode})
            for r in dump.dump_results(rr):
                results.append(dict(r, step=step))
        relations = masked(dump.dump_db(db))
        return steps, results, relations


def write(path, head, key, items):
    """JSON with one item per line: small diffs when dbt's output changes."""
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v, sort_keys=True)}," for k, v in head.items()]
    lines.append(f" {json.dumps(key)}: [")
    lines.append(",\n".join("  " + json.dumps(i, sort_keys=True, ensure_ascii=False) for i in items))
    lines += [" ]", "}"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else SUITE)
    if not os.path.exists(os.path.join(src, "integration_tests", "dbt_project.yml")):
        sys.exit(f"error: no dbt-utils suite at `{src}` (hint: pass its directory, which holds integration_tests/)")
    version = subprocess.run([DBT, "--version"], capture_output=True, text=True).stdout
    core = next((l.split(":")[-1].strip() for l in version.splitlines() if "installed" in l), "?")
    adapter = next((l.split(":")[-1].strip().split()[0] for l in version.splitlines() if "duckdb:" in l), "?")
    by = f"dbt-core {core}, dbt-duckdb {adapter}, duckdb {dump.duckdb.__version__}"
    steps, results, relations = run_suite(src)
    out = os.path.join(HERE, "expected")
    os.makedirs(out, exist_ok=True)
    order = {s: i for i, s in enumerate(STEPS)}
    results.sort(key=lambda r: (order[r["step"]], r["unique_id"]))
    write(os.path.join(out, "results.json"), {"generated_by": by, "steps": steps}, "results", results)
    write(os.path.join(out, "relations.json"), {"generated_by": by, "clock_columns": CLOCK}, "relations", relations)
    print(f"  {len(results)} results, {len(relations)} relations into {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
