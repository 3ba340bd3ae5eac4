#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs browser_test.mjs (or the script named by $1, e.g. listing_test.mjs):
# headless Chromium (Debian's `chromium`) driven by
# puppeteer-core against a live mjpeghttpsink. Installs the npm packages
# from package-lock.json (npm ci) when they are missing.
# Exit 0 = pass, 77 = skip (no chromium, node or npm packages), else fail.
set -euo pipefail

readonly SKIP=77
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=${1:-browser_test.mjs}
skip() {
  echo "[browser] SKIP: $*"
  exit "$SKIP"
}

chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
command -v gst-launch-1.0 >/dev/null || skip "gst-launch-1.0 is not installed"
if [ ! -d "$here/node_modules/puppeteer-core" ]; then
  command -v npm >/dev/null || skip "npm is not installed (apt-get install npm)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    skip "npm ci failed: puppeteer-core could not be installed"
fi
# The browser must start at all (a broken install is a skip, not a failure
# of the element).
"$chromium" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
  skip "$chromium does not start"

export CHROMIUM=$chromium
export SCREENSHOT_DIR=${MJPEGHTTP_BUILD_ROOT:-$here}/tests/browser
export SCREENSHOT=$SCREENSHOT_DIR/viewer-page.png
# A sanitizer build's plugin needs the sanitizer runtime in gst-launch (and
# only there: browser_support.mjs preloads MJPEGHTTP_SERVER_PRELOAD for the
# server alone; Chromium does not start with it).
exec node "$here/$script"
