"""Regenerates each differential case's expected.json from real dbt.

For every case directory given (default: all under differential/), the
case is copied to a temporary directory, each line of its `steps` file is run
as `dbt <line>` there, and after every step the warehouse and
target/run_results.json are dumped: every relation (schema, name, view or
table, column names, all rows cast to text and sorted by DuckDB, and the
comments persist_docs wrote, when it has any) and every
result (unique_id, status, failures). A case's optional `clock_columns` file
lists `table.column`s whose values come from dbt's clock (a snapshot's time):
their non-null values are dumped as `<time>`, so only what does not depend on
the clock is compared; every other column of every case is compared whole. A
case's optional `file_listing` file names folders of the project (one a line)
whose files, as relative paths, are dumped after every step too: where
external models wrote. Views that read files by relative paths are read with
DuckDB's `file_search_path` set to the project, as dbt's own process (running
there) reads them. tests/differential.rs dumps runner's
side with the same queries, so the two must stay in step. Run through
regen.sh, which provides the pinned dbt venv; never edit expected.json by hand.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
DBT = os.path.join(os.path.dirname(sys.executable), "dbt")
SKIP = {"expected.json", "target", "logs", "dbt_packages", "clock_columns", "file_listing"}

RELATIONS_SQL = """
select table_schema, table_name, table_type
from information_schema.tables
where table_catalog = current_database()
  and table_schema not in ('information_schema', 'pg_catalog')
order by table_schema, table_name
"""

COLUMNS_SQL = """
select column_name
from information_schema.columns
where table_catalog = current_database() and table_schema = ? and table_name = ?
order by ordinal_position
"""


RELATION_COMMENT_SQL = """
select comment from duckdb_tables()
where database_name = current_database() and schema_name = ? and table_name = ?
union all
select comment from duckdb_views()
where database_name = current_database() and schema_name = ? and view_name = ?
"""

COLUMN_COMMENTS_SQL = """
select column_name, comment
from duckdb_columns()
where database_name = current_database() and schema_name = ? and table_name = ?
order by column_index
"""


def comments(conn, schema, name):
    """persist_docs' comments on a relation and its columns, or None when it has none."""
    found = conn.execute(RELATION_COMMENT_SQL, [schema, name, schema, name]).fetchall()
    relation = found[0][0] if found else None
    columns = {c: t for c, t in conn.execute(COLUMN_COMMENTS_SQL, [schema, name]).fetchall() if t is not None}
    if relation is None and not columns:
        return None
    return {"relation": relation, "columns": columns}


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def read_clock_columns(case_dir):
    """The case's `table.column`s filled from the clock (none when the file is absent)."""
    path = os.path.join(case_dir, "clock_columns")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {l.strip() for l in f if l.strip() and not l.startswith("#")}


def column_text(table, column, i, clock):
    """A column cast to text, or `<time>` for a clock-filled value."""
    if f"{table}.{column}" in clock:
        return f"case when {quote(column)} is null then null else '<time>' end as c{i}"
    return f"cast({quote(column)} as varchar) as c{i}"


def read_file_listing(case_dir):
    """The case's folders whose files are listed (none when the file is absent)."""
    path = os.path.join(case_dir, "file_listing")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def dump_files(work, folders):
    """Every file under the listed folders, as a sorted list of relative paths."""
    out = []
    for folder in folders:
        for root, _dirs, files in os.walk(os.path.join(work, folder)):
            for name in files:
                out.append(os.path.relpath(os.path.join(root, name), work).replace(os.sep, "/"))
    return sorted(out)


def dump_db(path, clock=frozenset()):
    if not os.path.exists(path):
        return []
    conn = duckdb.connect(path, read_only=True)
    # Relative paths in views (external models, sources on files) are the project's.
    folder = os.path.dirname(os.path.abspath(path)).replace("'", "''")
    conn.execute(f"set file_search_path = '{folder}'")
    out = []
    for schema, name, kind in conn.execute(RELATIONS_SQL).fetchall():
        columns = [r[0] for r in conn.execute(COLUMNS_SQL, [schema, name]).fetchall()]
        casts = ", ".join(column_text(name, c, i, clock) for i, c in enumerate(columns))
        rows = conn.execute(
            f"select * from (select {casts} from {quote(schema)}.{quote(name)}) order by all nulls last"
        ).fetchall()
        relation = {
            "schema": schema,
            "name": name,
            "type": "view" if kind == "VIEW" else "table",
            "columns": columns,
            "rows": [list(r) for r in rows],
        }
        commented = comments(conn, schema, name)
        if commented is not None:
            relation["comments"] = commented
        out.append(relation)
    conn.close()
    return out


def dump_results(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        doc = json.load(f)
    results = [
        {"unique_id": r["unique_id"], "status": r["status"], "failures": r.get("failures")}
        for r in doc.get("results", [])
    ]
    return sorted(results, key=lambda r: r["unique_id"])


def run_case(case_dir):
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "project")
        shutil.copytree(case_dir, work, ignore=lambda d, names: [n for n in names if n in SKIP])
        with open(os.path.join(case_dir, "steps")) as f:
            steps = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        clock = read_clock_columns(case_dir)
        listing = read_file_listing(case_dir)
        dumped = []
        for step in steps:
            results = os.path.join(work, "target", "run_results.json")
            if os.path.exists(results):
                os.remove(results)
            args = [DBT] + shlex.split(step) + ["--profiles-dir", work, "--project-dir", work]
            proc = subprocess.run(args, cwd=work, capture_output=True, text=True)
            print(f"  dbt {step} -> exit {proc.returncode}", file=sys.stderr)
            step_dump = {
                "step": step,
                "exit_code": proc.returncode,
                "relations": dump_db(os.path.join(work, "warehouse.duckdb"), clock),
                "results": dump_results(results),
            }
            if listing is not None:
                step_dump["files"] = dump_files(work, listing)
            dumped.append(step_dump)
        return dumped


def main():
    names = sys.argv[1:] or sorted(
        d for d in os.listdir(HERE) if os.path.exists(os.path.join(HERE, d, "steps"))
    )
    version = subprocess.run([DBT, "--version"], capture_output=True, text=True).stdout
    core = next((l.split(":")[-1].strip() for l in version.splitlines() if "installed" in l), "?")
    for name in names:
        case_dir = os.path.join(HERE, name)
        print(f"{name}:", file=sys.stderr)
        expected = {"generated_by": f"dbt-core {core}, duckdb {duckdb.__version__}", "steps": run_case(case_dir)}
        with open(os.path.join(case_dir, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
