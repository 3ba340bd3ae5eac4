#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd unit pair in pipelines/systemd, checked without a running
# systemd: `systemd-analyze verify` reads both files, and
# `systemd-socket-activate` plays systemd's part for the service's pipeline
# shape (it binds the port, then starts the pipeline on the first connection
# with the listening socket as fd 3: LISTEN_FDS=1), and curl fetches the
# snapshot and the stream through it.
# Exit 0 = pass, 77 = skip (a tool is missing), else fail.
set -euo pipefail

readonly SKIP=77
readonly WIDTH=320 HEIGHT=240 PARTS=3
# The first gst-launch of a run may have to build the plugin registry.
readonly START_LIMIT_S=30
readonly STOP_LIMIT_S=5

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
units=$here/../../pipelines/systemd
workdir=$(mktemp -d)
activator_pid=

say() { echo "[systemd] $*"; }
# shellcheck source=../lib/server_process.sh
source "$here/../lib/server_process.sh"

stop_server() {
  stop_process "$activator_pid"
  activator_pid=
}
cleanup() {
  stop_server
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in systemd-socket-activate gst-launch-1.0 curl python3; do
  command -v "$tool" >/dev/null || {
    say "SKIP: $tool is not installed"
    exit "$SKIP"
  }
done

verify_units() {
  if ! command -v systemd-analyze >/dev/null; then
    say "systemd-analyze is not installed: the unit files are not verified"
    return 0
  fi
  # Whether systemd-analyze can work here at all (some containers refuse):
  # a unit that is certainly valid must pass first.
  printf '[Service]\nExecStart=/bin/true\n' >"$workdir/probe.service"
  if ! timeout 30 systemd-analyze verify --man=no "$workdir/probe.service" >"$workdir/probe.log" 2>&1; then
    say "systemd-analyze cannot verify units here ($(head -n 1 "$workdir/probe.log")): the unit files are not verified"
    return 0
  fi
  timeout 30 systemd-analyze verify --man=no "$units/mjpeghttp-camera.socket" \
    "$units/mjpeghttp-camera.service" >"$workdir/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$workdir/verify.log")"
  # Warnings go to the same output without failing the command.
  [ ! -s "$workdir/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$workdir/verify.log")"
  say "systemd-analyze verify: both unit files are clean"
}

# The service's ExecStart with a test picture instead of the camera.
service_pipeline() {
  grep -q '^ExecStart=.* mjpeghttpsink listen-fd=3' "$units/mjpeghttp-camera.service" ||
    fail "the service no longer runs mjpeghttpsink listen-fd=3"
  echo gst-launch-1.0 -e videotestsrc is-live=true \
    ! "video/x-raw,width=$WIDTH,height=$HEIGHT,framerate=30/1" ! jpegenc \
    ! mjpeghttpsink listen-fd=3 max-clients=200
}

free_port() {
  python3 "$here/../support/free_port.py"
}

start_activator() {
  local attempt i
  local child_env=() name
  # Like systemd, the activator gives the child a clean environment: only
  # what -E names passes, so the test's plugin path and registry must.
  if [ -z "${GST_PLUGIN_PATH_1_0:-}${GST_PLUGIN_PATH:-}" ] && [ -n "${MJPEGHTTP_BUILD_ROOT:-}" ]; then
    export GST_PLUGIN_PATH="$MJPEGHTTP_BUILD_ROOT/gst"
  fi
  for name in GST_PLUGIN_PATH_1_0 GST_PLUGIN_PATH GST_REGISTRY_1_0 GST_REGISTRY_FORK GST_DEBUG \
    UBSAN_OPTIONS; do
    [ -z "${!name:-}" ] || child_env+=(-E "$name=${!name}")
  done
  # A sanitizer build's plugin needs the sanitizer runtime in gst-launch.
  if [ -n "${MJPEGHTTP_SERVER_PRELOAD:-}" ]; then
    child_env+=(-E "LD_PRELOAD=$MJPEGHTTP_SERVER_PRELOAD" -E ASAN_OPTIONS=detect_leaks=0)
  fi
  for attempt in 1 2 3; do
    port=$(free_port)
    # Made before the activator starts, so the wait below can read it at once.
    : >"$workdir/server.log"
    # shellcheck disable=SC2046
    systemd-socket-activate "${child_env[@]}" -l "127.0.0.1:$port" \
      $(service_pipeline) >>"$workdir/server.log" 2>&1 &
    activator_pid=$!
    # Bound at once (before any connection); a clash with another process
    # for the port makes it exit, and we try another.
    for ((i = 0; i < 50; i++)); do
      grep -q "Listening on" "$workdir/server.log" && return 0
      kill -0 "$activator_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_server
  done
  fail "systemd-socket-activate did not listen: $(cat "$workdir/server.log")"
}

verify_units
start_activator
say "systemd-socket-activate (pid $activator_pid) listens on 127.0.0.1:$port"

# The first connection starts the pipeline; it is answered once the element
# has taken the socket over (503 until the first frame is encoded).
status=
for ((i = 0; i < START_LIMIT_S * 10; i++)); do
  status=$(curl -sS --max-time "$START_LIMIT_S" -o "$workdir/snapshot.jpg" -w '%{http_code}' \
    "http://127.0.0.1:$port/snapshot" 2>>"$workdir/curl.log" || true)
  [ "$status" = 200 ] && break
  kill -0 "$activator_pid" 2>/dev/null || fail "the activated pipeline exited"
  sleep 0.1
done
[ "$status" = 200 ] || fail "no snapshot through the activated socket (last status '$status')"
head -c 2 "$workdir/snapshot.jpg" | od -An -tx1 | grep -q 'ff d8' || fail "the snapshot is not a JPEG"

# The activator replaced itself with the pipeline: same process, now gst-launch.
grep -q gst-launch "/proc/$activator_pid/cmdline" ||
  fail "process $activator_pid is not the pipeline: $(tr '\0' ' ' <"/proc/$activator_pid/cmdline")"
grep -q '^LISTEN_FDS=1$' < <(tr '\0' '\n' <"/proc/$activator_pid/environ") ||
  fail "the pipeline did not get LISTEN_FDS=1"

set +e
curl -sS -N -D - --max-time 20 "http://127.0.0.1:$port/stream" |
  python3 "$here/../interop/check_multipart.py" --parts "$PARTS" --width "$WIDTH" --height "$HEIGHT"
statuses=("${PIPESTATUS[@]}")
set -e
[ "${statuses[1]}" -eq 0 ] || fail "the stream through the activated socket is not valid MJPEG (curl exit ${statuses[0]})"
say "snapshot and $PARTS stream parts served through the socket systemd-socket-activate handed over"
