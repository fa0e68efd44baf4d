#!/usr/bin/env bash
# Installs everything Glimpse needs to build, serve and test on a fresh Debian machine with rustup.
# Idempotent: each tool is installed only when the exact version is missing, so a warm machine
# spends seconds here. Nothing is downloaded from anywhere but the package registries
# (crates.io, PyPI, Debian, npm): Trunk's own tool downloads from GitHub are avoided by putting
# the pinned wasm-bindgen on PATH (see Trunk.toml [tools]).
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# What to install: `all` (default), or any of: rust tools browser vulkan npm weights.
parts=("$@"); [ ${#parts[@]} -eq 0 ] && parts=(all)
want() { local p; for p in "${parts[@]}"; do [ "$p" = all ] || [ "$p" = "$1" ] && return 0; done; return 1; }

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

if want rust; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
fi

if want tools; then
  if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
    log "installing trunk $TRUNK_VERSION (10-20 min on 2 cores, once)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
  wbv=$(wasm_bindgen_version)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbv\$"; then
    log "installing wasm-bindgen-cli $wbv (3-6 min, once)"
    # Not --locked: the CLI's own lockfile names a webpki-roots release the registry lacks.
    cargo install wasm-bindgen-cli --version "$wbv" --force
  fi
fi

if want browser; then
  if [ ! -x /usr/lib/chromium/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Debian's chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi

if want vulkan; then
  # Mesa's lavapipe: a software Vulkan device, so the GPU kernels' native tests run without a GPU.
  if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
    log "installing Debian's mesa-vulkan-drivers (lavapipe, for the native GPU tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
fi

if want npm; then
  if ! command -v npm >/dev/null; then
    log "installing Node.js and npm (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  fi
  # npm ci leaves its own copy of the lock file: reinstall when package-lock.json is newer.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages (Playwright without its browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  fi
fi

if want weights; then
  scripts/weights.sh
fi
log "set-up complete"
