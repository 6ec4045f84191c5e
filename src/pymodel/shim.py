# runner's driver for one Python model, embedded in the runner binary and run
# as `python3 -c <this text> <job.json>` in the user's Python.
#
# runner alone holds the warehouse, so this process never opens it. It opens
# an in-memory DuckDB `session`, shows every relation the model reads (each
# exported by runner to a parquet file) under the relation's own name, runs
# the compiled module (the model's file followed by runner's `dbtObj`),
# calls `model(dbt, session)` and writes what it returns (a pandas or polars
# DataFrame, an Arrow table or a DuckDB relation) to a parquet file, which
# runner then builds the table from. A failure is written to the job's error
# file: exit 3 when `duckdb` cannot be imported, 1 when the model failed.
# Works on Python 3.8 and later.

import json
import linecache
import sys
import traceback
import types

NO_DUCKDB = 3
MODEL_FAILED = 1


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def string(text):
    return "'" + text.replace("'", "''") + "'"


def fail(job, text, code):
    with open(job["error"], "w", encoding="utf-8") as f:
        f.write(text)
    sys.exit(code)


def show(session, databases, rel):
    """Makes `"database"."schema"."identifier"` read the relation's parquet file."""
    db = rel["database"]
    if db not in databases:
        session.execute("attach ':memory:' as " + quote(db))
        databases.add(db)
    schema = quote(db) + "." + quote(rel["schema"])
    session.execute("create schema if not exists " + schema)
    session.execute(
        "create or replace view " + schema + "." + quote(rel["identifier"])
        + " as select * from read_parquet(" + string(rel["parquet"]) + ")"
    )


def model_traceback(err, filename):
    """The traceback from the model's own code on (runner's frames left out)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None:
        # Not raised inside the model's code (a syntax error, a result
        # DuckDB cannot read): the error alone says it.
        return "".join(traceback.format_exception_only(type(err), err))
    return "".join(traceback.format_exception(type(err), err, tb))


def write(session, df, job):
    try:
        import pyarrow

        if isinstance(df, pyarrow.Table):
            # DuckDB reads an Arrow table through pyarrow.dataset, which must be imported.
            import pyarrow.dataset  # noqa: F401
    except ImportError:
        pass
    name = "__dbt_python_model_df_" + job["identifier"]
    session.register(name, df)
    session.execute(
        "copy (select * from " + quote(name) + ") to " + string(job["output"]) + " (format parquet)"
    )
    session.unregister(name)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    try:
        import duckdb
    except ImportError as e:
        fail(job, sys.executable, NO_DUCKDB)
    session = duckdb.connect()
    databases = {row[0] for row in session.execute("select database_name from duckdb_databases()").fetchall()}
    for rel in job["inputs"]:
        show(session, databases, rel)
    if job["database"] not in databases:
        session.execute("attach ':memory:' as " + quote(job["database"]))
    session.execute("use " + quote(job["database"]))
    filename = job["model"]
    with open(job["module"], encoding="utf-8") as f:
        source = f.read()
    # Tracebacks show the model's lines under its own path.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(job["identifier"])
    module.__file__ = filename
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
        dbt = module.dbtObj(lambda relation: session.query("select * from " + relation))
        df = module.model(dbt, session)
        write(session, df, job)
    except Exception as err:
        fail(job, "Python model failed:\n" + model_traceback(err, filename), MODEL_FAILED)


main()
