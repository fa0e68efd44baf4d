#!/usr/bin/env bash
# Writes dist-bench/efficientnet-lite0.onnx (and .f16.onnx, its weights stored as float16 as
# Glimpse ships them), Glimpse's weights as an ONNX model for the
# side-by-side benchmark against ONNX Runtime Web, and checks it: onnxruntime (CPU) must give the
# logits Glimpse computes natively for the sample photos, on the same input tensors.
# Python packages (pinned) go into a virtual environment in the cache (scripts/onnx-venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-dist-bench/efficientnet-lite0.onnx}
PYTHON=$(scripts/onnx-venv.sh)
scripts/weights.sh
mkdir -p "$(dirname "$OUT")" target/onnx-reference
# The dev profile: the tests have built it already (dependencies are optimised there too).
cargo run --quiet --example reference_outputs -- target/onnx-reference
"$PYTHON" scripts/export_onnx.py weights/efficientnet-lite0.f16.safetensors "$OUT" \
  --f16 "${OUT%.onnx}.f16.onnx" --check target/onnx-reference
