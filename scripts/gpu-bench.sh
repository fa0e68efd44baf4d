#!/usr/bin/env bash
# The native GPU benchmark (examples/gpu_bench.rs) for a machine with a GPU: builds it in release
# and runs it, writing bench/results/gpu-bench-<host>.json. Needs Rust, the weights
# (scripts/weights.sh) and a Vulkan/Metal/DX12 driver; on a machine without a GPU it runs on
# Mesa's lavapipe (software), which checks that it works, not how fast a GPU is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/weights.sh
mkdir -p bench/results
cargo run --release --example gpu_bench -- --json "bench/results/gpu-bench-$(hostname).json"
