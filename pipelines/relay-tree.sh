#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A relay tree on this machine, to try scale-out (docs/scaling.md): an
# origin serving a test picture, N relays re-serving it, and nginx in front
# spreading viewers over the relays. Installs what is missing and builds
# first; runs until Ctrl-C, then stops everything it started.
#
#   ./pipelines/relay-tree.sh [options]
#     --port N          nginx's port, where viewers connect (default 8090);
#                       the origin gets N+1, the relays N+2 onwards
#     --relays N        how many relays (default 3)
#     --upstream URL    relay this stream instead of starting an origin
#                       (e.g. a camera served by demo.sh on another machine)
#
# Then watch http://127.0.0.1:PORT/stream (or the page at /), and try
# killing a relay: its viewers reconnect through nginx to another one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

front_port=8090
relay_count=3
upstream=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) need_value "$@"; front_port=$2; shift 2 ;;
    --relays) need_value "$@"; relay_count=$2; shift 2 ;;
    --upstream) need_value "$@"; upstream=$2; shift 2 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
check_port "$front_port"
case "$relay_count" in '' | *[!0-9]*) die "--relays is a number, got '$relay_count'" ;; esac
[ "$relay_count" -ge 1 ] && [ "$relay_count" -le 32 ] || die "--relays is 1..32"
check_port $((front_port + 1 + relay_count))

prepare mjpeg-relay
ensure_packages "${MJPEGHTTP_FRONT_PACKAGES[@]}"

pids=()
workdir=$(mktemp -d "${TMPDIR:-/tmp}/relay-tree.XXXXXX")
stop_all() {
  local pid
  # Newest first: nginx, then the relays (their viewers get a closed
  # stream), then the origin.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$workdir"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

for port in $(seq "$front_port" $((front_port + 1 + relay_count))); do
  port_taken 127.0.0.1 "$port" && die "port $port is already in use: pick another --port"
done

if [ -z "$upstream" ]; then
  origin_port=$((front_port + 1))
  source_chain=(videotestsrc is-live=true pattern=ball
    ! video/x-raw,width=1280,height=720,framerate=30/1)
  element_available clockoverlay &&
    source_chain+=(! clockoverlay "time-format=%H:%M:%S" font-desc="Sans 36")
  gst-launch-1.0 -q "${source_chain[@]}" ! jpegenc ! mjpeghttpsink port="$origin_port" &
  pids+=($!)
  upstream="http://127.0.0.1:$origin_port/stream"
  say "origin    $upstream"
fi

relays=()
for index in $(seq "$relay_count"); do
  port=$((front_port + 1 + index))
  "$MJPEGHTTP_BUILD_DIR/pipelines/mjpeg-relay" --name "relay$index" "$upstream" "$port" \
    > >(sed "s/^/[relay$index] /" >&2) 2>&1 &
  pids+=($!)
  relays+=("127.0.0.1:$port")
  say "relay$index    http://127.0.0.1:$port/stream (PID $!)"
done

"$MJPEGHTTP_ROOT/pipelines/front.sh" --port "$front_port" --prefix "$workdir/front" "${relays[@]}" &
pids+=($!)
say ""
say "viewers   http://127.0.0.1:$front_port/stream   (page: http://127.0.0.1:$front_port/)"
say "Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
say "a process of the tree exited: stopping the rest"
