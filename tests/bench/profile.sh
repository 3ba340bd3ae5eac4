#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where mjpeghttpsink's time goes at 300 viewers @30 fps: samples the server
# process (feeder + element) with perf while the load client runs, and
# prints the top of the flat profile by thread, by library and by symbol,
# plus context switches per delivered frame.
#
#   tests/bench/profile.sh [VIEWERS] [SECONDS]     (defaults 300, 10)
#
# BENCH_PROFILE_SERVER=floor (or tcp) profiles that server instead, to see
# where the kernel floor's own time goes beside ours.
# Environment: BENCH_BUILD_DIR as for run.sh. Needs linux-perf (installed if
# missing) and a kernel that allows sampling (cpu-clock, software event).
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$bench_dir/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo_root/build-bench}
# shellcheck source=lib.sh
source "$bench_dir/lib.sh"

viewers=${1:-300}
seconds=${2:-10}
warmup=3

perf_pid=""
cleanup() {
  stop_pid "$perf_pid"
  stop_all
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

install_missing_packages linux-perf
build_all
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

out=$build_dir/profile/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
read -r quality _ < <("$build_dir/bench/feeder" --calibrate | awk '/^QUALITY/ {print $2, $4}')
server=${BENCH_PROFILE_SERVER:-mjpeg}
start_feeder "$server" 30 "$quality" "$out"
# shellcheck disable=SC2046
"$build_dir/bench/loadclient" --port "$server_port" $(client_mode_args "$server") \
  --viewers "$viewers" --warmup "$warmup" --measure $((seconds + 4)) \
  --server-pid "$feeder_pid" --server-tid "$server_tid" --counter-file "$out/counter" \
  >"$out/client.json" 2>"$out/client.err" &
client_pid=$!

# perf's own duration bounds both recordings; they start once the load
# client's warm-up (connections made, first frames out) is over.
sleep "$warmup"
perf stat -e task-clock,context-switches,cpu-migrations -p "$feeder_pid" -o "$out/stat.txt" \
  -- sleep 3 >/dev/null 2>&1
perf record -q -g -e cpu-clock -F 1999 -p "$feeder_pid" -o "$out/perf.data" \
  -- sleep "$((seconds - 3))" >/dev/null 2>&1 &
perf_pid=$!
wait "$perf_pid" || true
perf_pid=""
wait "$client_pid" || true
client_pid=""
stop_pid "$feeder_pid"
feeder_pid=""

report() { perf report -i "$out/perf.data" --stdio --no-children --percent-limit 0.5 "$@" 2>/dev/null; }
{
  echo "## $(server_label "$server"): $viewers viewers @30 fps, $(cut -d' ' -f1-3 /proc/loadavg) load"
  echo "### load client result"
  cat "$out/client.json"
  echo "### perf stat (3 s)"
  grep -E 'task-clock|context-switches|cpu-migrations|elapsed' "$out/stat.txt"
  # Client threads inherit the name of the thread that creates them
  # (mjpeghttp-http), so that line is the HTTP thread plus every viewer.
  echo "### by thread"
  report --sort comm -g none | grep -E '^ +[0-9]'
  echo "### by library"
  report --sort dso -g none | grep -E '^ +[0-9]'
  echo "### by symbol"
  report --sort dso,symbol -g none | grep -E '^ +[0-9]' | head -40
  echo "### streaming thread (src:src: appsrc push + render + fan-out) by symbol"
  report --comms src:src --sort dso,symbol -g none | grep -E '^ +[0-9]' | head -15
  echo "### call chains of the top symbols"
  report --sort symbol -g caller,2,callee | grep -v '^#' | head -90
} | tee "$out/summary.txt"
log "profile in $out"
