#!/usr/bin/env bash
# The side-by-side benchmark: Glimpse vs ONNX Runtime Web in headless Chromium, same weights, same
# input, same browser, one run. Prints a table (with Glimpse/ORT ratios) and writes
# bench/results/compare.json. BENCH_RUNS (default 30) and BENCH_WARMUP (default 3) set the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
trunk build --release
scripts/onnx.sh
E2E_DIR=bench npx playwright test compare
