#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The project's test command: installs what is missing (Debian 12), builds
# with warnings as errors, runs every meson test and ends with one line
#   N passed, N failed[, N skipped]
# Exits non-zero when a build or a test failed. Works from any directory.
#
# Environment: BUILD_DIR (default build-tests, relative to the repository;
# the sanitizer builds go to BUILD_DIR-asan and BUILD_DIR-tsan),
# SKIP_SANITIZERS=1 to run only the plain build.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

readonly PACKAGES=(
  meson ninja-build g++ pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libsoup-3.0-dev libjson-glib-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  ffmpeg curl python3 glib-networking openssl systemd
  chromium fonts-dejavu-core vlc-bin vlc-plugin-base
  nginx-light motion clang-format
)

passed=0
failed=0
skipped=0

log() { echo "run.sh: $*" >&2; }

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_missing_packages() {
  if ! command -v dpkg-query >/dev/null; then
    log "not a Debian system: skipping package installation"
    return 0
  fi
  local package missing=()
  for package in "${PACKAGES[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      log "missing packages (${missing[*]}) and no sudo to install them"
      return 1
    }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

# Adds the results of the last `meson test` in build dir $1 to the totals.
count_results() {
  local testlog=$1/meson-logs/testlog.json counts
  if [ ! -s "$testlog" ]; then
    log "no test results in $testlog"
    failed=$((failed + 1))
    return
  fi
  counts=$(python3 - "$testlog" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        if not line.strip():
            continue
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(passed, failed, skipped)
PY
  )
  local p f s
  read -r p f s <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

# Configures (or reconfigures) build dir $1 with the meson options that
# follow, builds it and runs all its tests. A failed configuration or build
# counts as one failure. Each build configuration (warnings as errors now; a
# sanitizer build later) is one call.
build_and_test() {
  local build_dir=$1
  shift
  local setup=(meson setup)
  [ -f "$build_dir/meson-private/coredata.dat" ] && setup+=(--reconfigure)
  if ! "${setup[@]}" "$build_dir" "$@"; then
    log "meson setup of $build_dir failed"
    failed=$((failed + 1))
    return
  fi
  if ! ninja -C "$build_dir"; then
    log "build of $build_dir failed"
    failed=$((failed + 1))
    return
  fi
  # A stale log must not be counted if meson test cannot even start.
  rm -f "$build_dir/meson-logs/testlog.json"
  meson test -C "$build_dir" --print-errorlogs "${TEST_ARGS[@]}" || true
  count_results "$build_dir"
}

summary() {
  local line="$passed passed, $failed failed"
  [ "$skipped" -eq 0 ] || line+=", $skipped skipped"
  echo "$line"
}

# The browser test drives Chromium with puppeteer-core from npm. Node comes
# from Debian only when the machine has none (an installed Node from another
# source must not be replaced); then the locked packages are installed.
prepare_browser_test() {
  if ! command -v node >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
    log "installing nodejs npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm ||
      log "nodejs could not be installed: the browser test will be skipped"
  fi
  if command -v npm >/dev/null; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) ||
      log "npm ci in tests/browser failed: the browser test will be skipped"
  fi
}

install_missing_packages
prepare_browser_test
# The whole suite, warnings as errors.
TEST_ARGS=()
build_and_test "${BUILD_DIR:-build-tests}" -Dwerror=true
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  # The whole suite again under ASan+UBSan (memory errors, leaks, undefined
  # behaviour). b_lundef=false: the plugin is a module whose sanitizer
  # symbols come from the process that loads it.
  build_and_test "${BUILD_DIR:-build-tests}-asan" -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false
  # The engine's own tests under TSan: it is where the threads are, and it
  # has no GStreamer in it to drown the reports.
  TEST_ARGS=(--suite engine)
  build_and_test "${BUILD_DIR:-build-tests}-tsan" -Dwerror=true -Db_sanitize=thread -Db_lundef=false \
    -Dengine_only=true
fi
summary
[ "$failed" -eq 0 ]
