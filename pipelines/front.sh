#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs nginx in front of mjpeg relays (pipelines/relay.sh): viewers connect
# to nginx, which spreads them over the relays and passes each stream
# through unbuffered. Runs as an ordinary user (or root) on a high port,
# with everything (config, pid file, logs, temp dirs) under its own prefix.
#
#   ./pipelines/front.sh [options] RELAY [RELAY...]
#     RELAY               a relay's HOST:PORT, e.g. 127.0.0.1:8081
#     --port N            port viewers connect to (default $PORT or 8090)
#     --address ADDR      address to listen on (default $ADDRESS or 127.0.0.1)
#     --prefix DIR        nginx's prefix: conf/, logs/, tmp/, nginx.pid
#                         (default: a new directory under /tmp)
#     --tls-port N        also serve HTTPS on this port (needs --cert, --key)
#     --cert FILE         PEM certificate (chain) for HTTPS
#     --key FILE          PEM private key for HTTPS
#
# The config is pipelines/nginx/front.conf.in (with locations.conf and, for
# HTTPS, tls-server.conf.in), filled in and written to PREFIX/conf. nginx
# runs in the foreground; this script's PID becomes nginx's master process
# (SIGTERM or Ctrl-C stops it, SIGQUIT lets streams finish).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly NGINX=/usr/sbin/nginx
readonly TEMPLATES="$MJPEGHTTP_ROOT/pipelines/nginx"

port="${PORT:-8090}"
address="${ADDRESS:-127.0.0.1}"
prefix=""
tls_port=""
cert=""
key=""
relays=()

while [ $# -gt 0 ]; do
  case "$1" in
    --port) need_value "$@"; port=$2; shift 2 ;;
    --address) need_value "$@"; address=$2; shift 2 ;;
    --prefix) need_value "$@"; prefix=$2; shift 2 ;;
    --tls-port) need_value "$@"; tls_port=$2; shift 2 ;;
    --cert) need_value "$@"; cert=$2; shift 2 ;;
    --key) need_value "$@"; key=$2; shift 2 ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) relays+=("$1"); shift ;;
  esac
done
[ ${#relays[@]} -gt 0 ] || die "no relay given (see --help)"
check_port "$port"
if [ -n "$tls_port$cert$key" ]; then
  [ -n "$tls_port" ] && [ -n "$cert" ] && [ -n "$key" ] || die "--tls-port, --cert and --key go together"
  check_port "$tls_port"
  [ -r "$cert" ] || die "cannot read $cert"
  [ -r "$key" ] || die "cannot read $key"
  cert=$(realpath "$cert")
  key=$(realpath "$key")
fi
for relay in "${relays[@]}"; do
  case "$relay" in
    *:[0-9]*) ;;
    *) die "a relay is HOST:PORT, got '$relay'" ;;
  esac
done

[ -x "$NGINX" ] || ensure_packages "${MJPEGHTTP_FRONT_PACKAGES[@]}"
[ -x "$NGINX" ] || die "$NGINX missing after installing ${MJPEGHTTP_FRONT_PACKAGES[*]}"

if [ -z "$prefix" ]; then
  prefix=$(mktemp -d "${TMPDIR:-/tmp}/mjpeg-front.XXXXXX")
fi
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp"
prefix=$(realpath "$prefix")

# Started as root, nginx runs its workers as another user, and says so. The
# workers only need the descriptors the master opened for them (listening
# sockets, logs) and, for the rare temp file, tmp/ (nginx gives that to them).
user_directive="# not root: the workers run as $(id -un), as the master does"
if [ "$(id -u)" -eq 0 ]; then
  user_directive="user nobody nogroup;"
  chmod 755 "$prefix"
fi

listen_on() { case "$1" in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }

servers=""
for relay in "${relays[@]}"; do
  # A relay that fails once is skipped for 10 s, then tried again.
  servers+="        server $relay max_fails=1 fail_timeout=10s;"$'\n'
done

config=$(<"$TEMPLATES/front.conf.in")
config=${config//@USER_DIRECTIVE@/$user_directive}
config=${config//@LISTEN@/$(listen_on "$address" "$port")}
config=${config//@RELAY_SERVERS@/${servers%$'\n'}}
printf '%s\n' "$config" >"$prefix/conf/nginx.conf"
cp "$TEMPLATES/locations.conf" "$prefix/conf/locations.conf"
if [ -n "$tls_port" ]; then
  tls=$(<"$TEMPLATES/tls-server.conf.in")
  tls=${tls//@TLS_LISTEN@/$(listen_on "$address" "$tls_port")}
  tls=${tls//@CERT@/$cert}
  tls=${tls//@KEY@/$key}
  printf '%s\n' "$tls" >"$prefix/conf/tls.conf"
else
  echo "# no HTTPS: front.sh was not given --tls-port" >"$prefix/conf/tls.conf"
fi

host=$(local_url_host "$address")
say "nginx on $address port $port in front of ${relays[*]} (prefix $prefix)"
say "  stream    http://$host:$port/stream"
[ -z "$tls_port" ] || say "  HTTPS     https://$host:$tls_port/stream"
say "  error log $prefix/logs/error.log"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$NGINX" -p "$prefix/" -c "$prefix/conf/nginx.conf"
