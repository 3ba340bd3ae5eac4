#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where mjpeghttpsink's time goes at 300 viewers @30 fps: samples the server
# process (feeder + element) with perf while the load client runs, and
# prints the top of the flat profile by thread, by library and by symbol,
# plus context switches per delivered frame: per thread name from /proc
# (a window without perf attached, which would itself slow every switch)
# and the system calls by kind (perf stat on syscall tracepoints).
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
  --viewers "$viewers" --warmup "$warmup" --measure $((seconds + 7)) \
  --server-pid "$feeder_pid" --server-tid "$server_tid" --counter-file "$out/counter" \
  >"$out/client.json" 2>"$out/client.err" &
client_pid=$!

# perf's own duration bounds both recordings; they start once the load
# client's warm-up (connections made, first frames out) is over.
sleep "$warmup"
pushed() { od -An -t u8 -N8 "$out/counter" | tr -d ' '; }
# Frames are counted inside the snapshots' span, so the figures per frame
# err high, never low.
python3 "$bench_dir/thread_switches.py" snapshot "$feeder_pid" >"$out/threads-before.json"
first_push=$(pushed)
sleep 3
last_push=$(pushed)
python3 "$bench_dir/thread_switches.py" snapshot "$feeder_pid" >"$out/threads-after.json"
syscalls=futex,sendmsg,ioctl,poll,getsockopt
perf stat -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
  -e "$(sed 's/\([a-z]*\)/syscalls:sys_enter_\1/g' <<<"$syscalls")" -p "$feeder_pid" -o "$out/stat.txt" \
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
  echo "### threads, 3 s without perf (from /proc)"
  python3 "$bench_dir/thread_switches.py" report "$out/threads-before.json" "$out/threads-after.json" \
    "$((last_push - first_push))" "$viewers"
  echo "### perf stat (the next 3 s; ~$((viewers * 90)) frames delivered)"
  grep -E 'task-clock|context-switches|cpu-migrations|sys_enter|elapsed' "$out/stat.txt"
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
