#!/usr/bin/env bash
# Benchmarks of issues #6 (P1-P6), #21 (P7) and #25 (U1-U2), measured side by side in one run on this machine.
#   bench/run.sh                    full runs (5 each; P3 at 1k/10k/100k models): about half an hour
#   bench/run.sh --quick            one run each at small sizes: proves every measurement still runs (CI)
#   bench/run.sh --runs 9 --out results.md --keep --require-dbt
#   bench/run.sh --only U1,U2       only these measurements
# Builds in the dev profile (as `cargo test` does), so DuckDB is not compiled again.
# Exits non-zero when any measurement did not run; it asserts nothing about time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/runner-target}"
cargo build -q --bins --examples
exec python3 bench/harness.py --target-dir "$CARGO_TARGET_DIR" "$@"
