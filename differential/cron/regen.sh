#!/usr/bin/env bash
# Regenerates differential/cron/expected.json from real Airflow (the venv of
# scripts/airflow-venv.sh). Usage: differential/cron/regen.sh [CASES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/../../scripts/airflow-venv.sh")"
exec "$bin/python" "$here/gen.py" "$@"
