#!/usr/bin/env bash
# Regenerates differential/dbt_utils/expected/ from real dbt-core + dbt-duckdb (the
# pinned venv of scripts/dbt-venv.sh) run on dbt-utils' integration suite, read from
# ../shared/conformance/dbt-utils (or the directory given). About a minute. Usage:
#   differential/dbt_utils/regen.sh [SUITE_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/../../scripts/dbt-venv.sh")"
exec "$bin/python" "$here/regen.py" "$@"
