#!/usr/bin/env bash
# The side-by-side benchmark: Glimpse vs ONNX Runtime Web in headless Chromium, same weights, same
# input, same browser, one run. Prints tables (with Glimpse/ORT ratios) and writes
# bench/results/*.json:
#   compare           inference latency, batch 1 and 8, CPU and WebGPU (+ Glimpse's layer profile)
#   first-prediction  navigation -> first prediction, cold and warm cache, split by phase
#   teach-timings     embedding throughput, head training (3 x 30 photos), head + last blocks
#   gpu-work          WebGPU dispatches, submits, read-backs and pipelines per forward pass
#   memory            engine memory over 500 consecutive photos
#   many-photos       a labelled folder of PHOTOS (default 500) photos: 1 worker vs the pool
#   backbones-page    Lite0, Lite1 and Lite2 in the page: latency per backend, bytes
#   backbones-native-cpu  the same natively (examples/backbone_bench.rs), with each backbone's
#                     held-out accuracy on the textures and two Fashion-MNIST triples
# BENCH_RUNS (default 30) and BENCH_WARMUP (default 3) set the latency runs; BENCH_BACKENDS
# (default cpu,webgpu) the paths.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
trunk build --release
scripts/onnx.sh
E2E_DIR=bench npx playwright test compare gpu-work first-prediction teach-timings memory many-photos backbones
cargo run --release --example backbone_bench -- --json bench/results/backbones-native-cpu.json
