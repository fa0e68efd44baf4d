#!/usr/bin/env bash
# The README's second command: set up whatever is missing, then run every test layer:
#   1. native `cargo test` (model, weights, preprocessing) on the CPU backend;
#   2. browser tests (wasm-bindgen-test in headless Chromium, inside a Web Worker, WebGPU included);
#   3. end-to-end Playwright specs against the built site (`trunk build --release`).
# Screenshots land in tests/e2e/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n\033[1;32m== %s ==\033[0m\n' "$*"; }
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
# SmoothGrad (a backward pass through the whole model) on SwiftShader takes a minute or two.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-900}

step "formatting"
cargo fmt --all -- --check

step "native tests (CPU backend)"
# onnxruntime (Python, in the cache) checks the ONNX export in tests/onnx_export.rs.
GLIMPSE_ONNX_PYTHON=$(scripts/onnx-venv.sh)
export GLIMPSE_ONNX_PYTHON
cargo test --all-targets

step "browser tests (wasm-bindgen-test, headless Chromium)"
cargo test --release --target wasm32-unknown-unknown --test browser --test browser_store -- --nocapture

step "site build (trunk build --release)"
trunk build --release

step "end-to-end tests (Playwright, Debian Chromium)"
mkdir -p tests/e2e/artifacts
npx playwright test
