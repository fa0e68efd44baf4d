#!/usr/bin/env bash
# A Python virtual environment in the cache with onnx, onnxruntime and numpy (pinned, from PyPI),
# for the ONNX checks: the ONNX export's test (tests/onnx_export.rs) and the benchmark's model
# (scripts/onnx.sh). Prints the environment's python; does nothing when it is already there.
set -euo pipefail

CACHE=${GLIMPSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glimpse}
VENV="$CACHE/onnx-venv"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  # Debian splits venv support out of python3.
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo "[onnx] installing Debian's python3-venv" >&2
    apt-get install -y -q python3-venv >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-venv >&2; }
  fi
  echo "[onnx] installing onnx, onnxruntime and numpy into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check onnx==1.23.2 onnxruntime==1.31.1 numpy==2.4.6 >&2
fi
echo "$VENV/bin/python"
