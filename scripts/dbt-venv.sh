#!/usr/bin/env bash
# Creates (or reuses) a Python venv with the dbt-core + dbt-duckdb that the
# differential tests and the P1 benchmark compare `runner` against (and the
# duckdb + pandas that runner's Python models run with in the tests), and prints
# its bin directory. dbt-core 1.11+ downloads from GitHub during install, which
# this network refuses, so the versions are pinned to 1.10.x / 1.9.x.
#   DBT_BIN=$(scripts/dbt-venv.sh)   then   "$DBT_BIN/dbt" --version
set -euo pipefail
venv="${RUNNER_DBT_VENV:-$HOME/.cache/runner-dbt-venv}"
if [ ! -x "$venv/bin/dbt" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'dbt-core>=1.10,<1.11' 'dbt-duckdb>=1.9,<1.10' >&2
fi
# The published artifact schemas (tests/artifacts_schema.rs), added to venvs made before it.
if ! "$venv/bin/python" -c 'import dbt_artifacts_parser' 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check 'dbt-artifacts-parser==0.15.0' >&2
fi
# pandas for the Python models of differential/python_models (dbt-duckdb runs
# them in this venv; runner in the Python that RUNNER_PYTHON names).
if ! "$venv/bin/python" -c 'import pandas' 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check 'pandas==3.1.1' >&2
fi
echo "$venv/bin"
