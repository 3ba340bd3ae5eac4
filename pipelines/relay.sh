#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Re-serves an MJPEG stream from another server without re-encoding it: a
# relay in a tree of servers behind nginx (docs/scaling.md). Keeps serving
# the last frame while the upstream is away and reconnects on its own (with
# a growing delay), without dropping its own viewers.
#
#   ./pipelines/relay.sh UPSTREAM PORT [options]
#     UPSTREAM              the stream to relay, e.g. http://origin:8080/stream
#     PORT                  where to serve it (0 = any free port)
#     --address ADDR        address to listen on (default $ADDRESS or
#                           127.0.0.1; 0.0.0.0 serves the network)
#     --stall-timeout MS    reconnect when no frame came for this long (5000)
#     --backoff-min MS      first delay before reconnecting (200)
#     --backoff-max MS      longest delay before reconnecting (5000)
#     --name NAME           shown in the origin's /stats as the user agent
#                           "mjpeg-relay (NAME)" (default relay:PORT)
#
# Installs what is missing (Debian 12) and builds first. Runs in the
# foreground until Ctrl-C (its viewers then get a closed stream).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
  -h | --help | '')
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ]
    exit
    ;;
esac
[ $# -ge 2 ] || die "usage: relay.sh UPSTREAM PORT [options] (see --help)"
upstream=$1
port=$2
shift 2
case "$upstream" in
  http://* | https://*) ;;
  *) die "UPSTREAM must be an http:// or https:// URL, got '$upstream'" ;;
esac
[ "$port" = 0 ] || check_port "$port"
address="${ADDRESS:-127.0.0.1}"
options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --address) need_value "$@"; address=$2; shift 2 ;;
    --stall-timeout | --backoff-min | --backoff-max | --name)
      need_value "$@"; options+=("$1" "$2"); shift 2 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

prepare mjpeg-relay

# With PORT 0 the relay prints the port it got ("serving http://...").
if [ "$port" != 0 ]; then
  port_taken "$address" "$port" && die "port $port is already in use on $address: pick another port"
  print_urls "$address" "$port"
fi
# exec: the script's PID is the relay's, so Ctrl-C (or kill -INT PID) reaches
# it directly and its viewers get a properly closed stream.
exec "$MJPEGHTTP_BUILD_DIR/pipelines/mjpeg-relay" --address "$address" "${options[@]}" \
  "$upstream" "$port"
