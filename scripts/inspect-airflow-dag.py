"""Imports one exported DAG file the way Airflow's DAG processor does and
writes, as JSON, what tests/airflow_export.rs checks: the warnings the file
itself raised (deprecations among them), and the DAG's settings and task graph.
Run with the Airflow venv's python: `python scripts/inspect-airflow-dag.py DAG_FILE OUT_JSON`
(a file, not stdout: cosmos prints dbt's output there while it parses).
"""
import datetime
import importlib.util
import json
import sys
import warnings

# Airflow routes warnings to its logging once configured; configure it first,
# so the warnings raised while the file is imported are recorded below.
import airflow  # noqa: F401
from airflow.sdk import DAG

path = sys.argv[1]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    spec = importlib.util.spec_from_file_location("exported_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

dags = [v for v in vars(module).values() if isinstance(v, DAG)]
dag = dags[0] if dags else None

def settings(dag):
    """What runner's keys became, as Airflow reads them (each as text)."""
    out = {k: str(getattr(dag, k)) for k in (
        "catchup", "max_active_runs", "max_active_tasks", "is_paused_upon_creation", "description",
    )}
    for k in ("start_date", "end_date"):
        at = getattr(dag, k)
        out[k] = at.astimezone(datetime.timezone.utc).isoformat() if at else "None"
    out["tags"] = str(sorted(dag.tags))
    # cosmos adds its own `__cosmos_telemetry_metadata__` param.
    out["params"] = str({k: dag.params[k] for k in dag.params if not k.startswith("__cosmos")})
    zone = getattr(dag.timetable, "timezone", None) or getattr(dag.timetable, "_timezone", None)
    out["timetable_timezone"] = getattr(zone, "name", str(zone))
    task = dag.tasks[0] if dag.tasks else None
    for k in ("retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout"):
        out[k] = str(getattr(task, k, None))
    return out


report = json.dumps({
    "own_warnings": [f"{w.category.__name__}: {w.message}" for w in caught if w.filename == path],
    "all_deprecations": [
        f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}"
        for w in caught
        if "deprecat" in (w.category.__name__ + str(w.message)).lower()
    ],
    "dag_ids": [d.dag_id for d in dags],
    "timetable": type(dag.timetable).__name__ if dag else None,
    "settings": settings(dag) if dag else {},
    "tasks": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} if dag else {},
}, sort_keys=True)
with open(sys.argv[2], "w") as out:
    out.write(report)
