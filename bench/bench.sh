#!/usr/bin/env bash
# make bench: runs bench/bench.py (the driver: every figure beside its baseline measured in the
# same run, as medians with min-max, in Markdown tables; docs/benchmarks.md says what each row
# measures). Knobs: BENCH_RUNS=N, BENCH_QUICK=1, BENCH_COMPRESSORS=1, BENCH_KEEP=1.
# Usage: bench/bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
command -v python3 >/dev/null || { echo "bench: python3 is missing (make deps installs it)" >&2; exit 1; }
exec python3 "$(dirname "$0")/bench.py" "${1:-build}"
