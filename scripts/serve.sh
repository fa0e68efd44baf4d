#!/usr/bin/env bash
# The README's first command: set up whatever is missing, then build and serve Glimpse on
# http://127.0.0.1:8080 (release build; pass --dev for a quicker debug build while working on UI).
set -euo pipefail
cd "$(dirname "$0")/.."
# npm: the build's post-build hook writes the service worker with Workbox.
scripts/setup.sh rust tools npm weights
profile=(--release)
[ "${1:-}" = "--dev" ] && profile=()
# The page's Content-Security-Policy (scripts/post-build.mjs) admits no inline script Trunk did not
# build, so Trunk's injected live-reload script is left out: reload the page by hand.
exec trunk serve --no-autoreload "${profile[@]}"
