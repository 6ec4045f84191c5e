#!/usr/bin/env bash
# Benchmarks, measured side by side in one run on this machine.
#   bench/run.sh           full runs
#   bench/run.sh --quick   a few iterations: proves every measurement still runs (CI)
# Uses the dev profile (as `cargo test` does), so DuckDB is not compiled again.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=30
if [ "${1:-}" = "--quick" ]; then iterations=3; fi
echo "== P5: lock handoff between two processes ($iterations iterations)"
cargo run -q --example lock_handoff -- "$iterations"
