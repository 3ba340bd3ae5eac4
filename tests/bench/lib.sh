# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by run.sh, relay.sh and profile.sh (sourced, not run): packages, the
# release build of the plugin and of the two benchmark programs, the
# descriptor limit and the results folder, and starting and stopping one
# server process by its PID.
# Needs: bench_dir, repo_root, build_dir set by the caller.

readonly BENCH_PACKAGES=(
  meson ninja-build g++ pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libsoup-3.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3
)
readonly BOUNDARY=benchboundary
# tcpserversink as a careful user would set it up: new viewers start at the
# latest part, and a viewer more than two frames behind (3 buffers per frame
# from multipartmux: headers, JPEG, CRLF) skips to the latest part, like
# mjpeghttpsink's default max-queued-frames=2 drop-oldest. Left at its
# defaults it queues without bound for a slow viewer.
readonly TCP_SINK_PROPS="sync-method=latest recover-policy=keyframe buffers-soft-max=6"

log() { echo "bench: $*" >&2; }

install_missing_packages() {
  command -v dpkg-query >/dev/null || return 0
  local package missing=()
  for package in "${BENCH_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

# The source to benchmark: by default a snapshot of the committed HEAD (other
# people may be editing the working tree while a run goes on; a run must
# measure one known commit), another commit with BENCH_REV=<rev> (to measure
# what a change bought, with the same benchmark), or the working tree itself
# with BENCH_SOURCE=tree. Sets source_dir and source_commit.
prepare_source() {
  local rev=${BENCH_REV:-HEAD}
  source_commit=$(git -C "$repo_root" rev-parse --short "$rev" 2>/dev/null || echo unknown)
  if [ "${BENCH_SOURCE:-head}" = tree ] || [ "$source_commit" = unknown ]; then
    source_dir=$repo_root
    source_commit="$source_commit+tree"
    return 0
  fi
  source_dir=$build_dir/source
  # Re-extracted only for a new commit, so an unchanged tree is not rebuilt.
  if [ "$(cat "$source_dir/.bench-commit" 2>/dev/null)" != "$source_commit" ]; then
    rm -rf "$source_dir"
    mkdir -p "$source_dir"
    git -C "$repo_root" archive "$rev" | tar -x -C "$source_dir"
    echo "$source_commit" >"$source_dir/.bench-commit"
  fi
}

# The plugin in its own release build (the top-level build never sees
# tests/bench), then the feeder and the load client next to it.
build_all() {
  mkdir -p "$build_dir/bench"
  prepare_source
  local meson_dir=$build_dir/meson
  local setup=(meson setup --buildtype=release -Dtests=disabled)
  [ -f "$meson_dir/meson-private/coredata.dat" ] && setup+=(--reconfigure)
  "${setup[@]}" "$meson_dir" "$source_dir" >"$build_dir/setup.log" 2>&1 ||
    { cat "$build_dir/setup.log" >&2; return 1; }
  ninja -C "$meson_dir" >"$build_dir/ninja.log" 2>&1 || { tail -30 "$build_dir/ninja.log" >&2; return 1; }
  local cxx=(g++ -std=c++17 -O2 -g -Wall -Wextra -Werror)
  # shellcheck disable=SC2046
  "${cxx[@]}" -o "$build_dir/bench/feeder" "$bench_dir/feeder.cpp" \
    $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-app-1.0) -pthread
  "${cxx[@]}" -o "$build_dir/bench/loadclient" "$bench_dir/loadclient.cpp" -pthread
  export GST_PLUGIN_PATH_1_0="$meson_dir/gst"
  export GST_REGISTRY_1_0="$build_dir/bench/registry.bin"
  gst-inspect-1.0 mjpeghttpsink >/dev/null || { log "mjpeghttpsink not found in $meson_dir/gst"; return 1; }
  log "built $source_commit in $meson_dir"
}

# Raises the soft descriptor limit to the hard one (each viewer is a
# descriptor in the load client and one or more in the servers); fails, saying
# that $1 (what the run serves, e.g. "900 viewers") needs more, when it stays
# under 4096.
raise_descriptor_limit() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
    log "ulimit -n is $(ulimit -n); $1 need at least 4096"
    return 1
  fi
}

# A new results folder: $BENCH_OUT, or one under the build named $1 (a
# prefix, may be empty) and the time. Sets out and results (an empty
# results.jsonl in it).
new_results_folder() {
  out=${BENCH_OUT:-$build_dir/results/$1$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$out"
  results=$out/results.jsonl
  : >"$results"
}

# Element names as printed in reports.
server_label() {
  case "$1" in
    mjpeg) echo mjpeghttpsink ;;
    tcp) echo tcpserversink ;;
    floor-threads) echo "thread-per-viewer floor" ;;
    *) echo "kernel floor" ;;
  esac
}

feeder_pid=""
client_pid=""
# A command prefix for the feeder and the load client: empty, or
# (ip netns exec NAME) to run both inside a network namespace. It execs, so
# the PIDs are still the programs' own.
run_in=()

stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  stop_pid "$client_pid"
  client_pid=""
  stop_pid "$feeder_pid"
  feeder_pid=""
}

# start_feeder SERVER RATE QUALITY WORKDIR: starts the server process and
# waits (bounded) for its READY line; sets feeder_pid, server_port,
# server_tid, frame_bytes.
start_feeder() {
  local server=$1 rate=$2 quality=$3 work=$4 props=""
  [ "$server" = tcp ] && props=$TCP_SINK_PROPS
  : >"$work/feeder.out"
  # shellcheck disable=SC2154  # run_in: set by the caller, empty or a netns prefix
  "${run_in[@]}" "$build_dir/bench/feeder" --server "$server" --rate "$rate" --quality "$quality" \
    --boundary "$BOUNDARY" --sink-props "$props" --counter-file "$work/counter" \
    >"$work/feeder.out" 2>"$work/feeder.err" &
  feeder_pid=$!
  local i
  for i in $(seq 300); do
    grep -q '^READY' "$work/feeder.out" && break
    kill -0 "$feeder_pid" 2>/dev/null || break
    sleep 0.1
  done
  local ready
  ready=$(grep '^READY' "$work/feeder.out" || true)
  if [ -z "$ready" ]; then
    log "feeder ($server) did not start:"
    cat "$work/feeder.err" >&2
    return 1
  fi
  server_port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<<"$ready")
  server_tid=$(sed -n 's/.* tid=\([0-9]*\).*/\1/p' <<<"$ready")
  frame_bytes=$(sed -n 's/.* frame_bytes=\([0-9]*\).*/\1/p' <<<"$ready")
}

# client_args SERVER: the load client's mode arguments for that server.
client_mode_args() {
  if [ "$1" = mjpeg ]; then echo "--mode http --path /stream"; else echo "--mode raw --boundary $BOUNDARY"; fi
  # (tcp and floor both send raw multipart after the TCP connect)
}
