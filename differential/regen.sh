#!/usr/bin/env bash
# Regenerates differential/<case>/expected.json from real dbt-core +
# dbt-duckdb (the pinned venv of scripts/dbt-venv.sh). Usage:
#   differential/regen.sh            # every case
#   differential/regen.sh seeds      # one case
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/../scripts/dbt-venv.sh")"
exec "$bin/python" "$here/dump.py" "$@"
