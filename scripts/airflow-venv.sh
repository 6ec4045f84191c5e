#!/usr/bin/env bash
# Creates (or reuses) a Python venv with real Airflow 3 + astronomer-cosmos and
# the pinned dbt-core + dbt-duckdb, and prints its bin directory. The cron
# oracle (differential/cron/) and the Airflow export tests compare `runner`
# against it. Telemetry stays off: no network beyond the package index.
#   AIRFLOW_BIN=$(scripts/airflow-venv.sh)   then   "$AIRFLOW_BIN/airflow" version
set -euo pipefail
venv="${RUNNER_AIRFLOW_VENV:-$HOME/.cache/runner-airflow-venv}"
if [ ! -x "$venv/bin/airflow" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'apache-airflow>=3,<4' 'astronomer-cosmos>=1.15,<1.16' \
    'dbt-core>=1.10,<1.11' 'dbt-duckdb>=1.9,<1.10' >&2
fi
echo "$venv/bin"
