#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Side-by-side benchmark: mjpeghttpsink vs multipartmux ! tcpserversink, same
# frames, same load client, one run. Run by hand, never by CI.
#
#   tests/bench/run.sh            full run (~8 min: 8 s warm-up + 12 s window per case and server)
#   tests/bench/run.sh --quick    smoke run (~3 min: 3 s + 3 s)
#
# Environment: BENCH_WARMUP, BENCH_MEASURE (seconds), BENCH_CONNECT_RATE
# (viewers connecting per second in paced cases), BENCH_CASES (space
# separated case names, default all), BENCH_BUILD_DIR (default build-bench),
# BENCH_OUT (results dir, default $BENCH_BUILD_DIR/results/<time>),
# BENCH_SOURCE (head: a snapshot of the committed HEAD, the default; tree: the
# working tree as it is), BENCH_REV (another commit to snapshot instead of
# HEAD; give each its own BENCH_BUILD_DIR).
# BENCH_FLOOR=0 skips the kernel-floor rows (see below). BENCH_SERVERS
# (space separated: mjpeg tcp floor floor-threads, default all) runs only some servers,
# for trying a change; a reference run keeps them side by side.
# BENCH_COPY_BODIES=1: the load client reads every byte (--copy-bodies)
# instead of dropping bodies in the kernel, like a real viewer; its own CPU
# then competes with the servers'.
# BENCH_SHAPED_MEASURE (seconds, default 30): the window of the shaped_links
# case, whose slowest viewer gets one frame in 1.6 s. That case needs root
# (a network namespace shaped with tc htb, see shaped_link.sh) and is
# skipped with a message otherwise.
# Prints a markdown table (both servers and ours ÷ theirs) and writes
# results.jsonl and summary.json in the results dir.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$bench_dir/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo_root/build-bench}
# shellcheck source=lib.sh
source "$bench_dir/lib.sh"
# shellcheck source=shaped_link.sh
source "$bench_dir/shaped_link.sh"

warmup=${BENCH_WARMUP:-8}
measure=${BENCH_MEASURE:-12}
connect_rate=${BENCH_CONNECT_RATE:-200}
if [ "${1:-}" = "--quick" ]; then
  warmup=${BENCH_WARMUP:-3}
  measure=${BENCH_MEASURE:-3}
  connect_rate=${BENCH_CONNECT_RATE:-400}
fi

# name viewers slow-viewers rate (0 = as fast as the sink accepts) connects
# per second [slow viewers' SO_RCVBUF, default 16384] ("paced": BENCH_CONNECT_RATE, viewers arriving one after
# another, so both servers get every viewer they can serve; 0: all at once, a
# connection storm; tcpserversink listens with a backlog of 5, so in a storm
# most SYNs are dropped and retried by the kernel after 1, 3, 7 s...)
readonly ALL_CASES=(
  "idle 0 0 30 paced"
  "v1 1 0 30 paced"
  "v10 10 0 30 paced"
  "v100 100 0 30 paced"
  "v300 300 0 30 paced"
  "storm_300 300 0 30 0"
  "v900 900 0 30 paced"
  "v1000_10fps 1000 0 10 paced"
  "max_v1 1 0 0 paced"
  "max_v10 10 0 0 paced"
  "slow_2of10 10 2 30 paced"
  "slow64k_2of10 10 2 30 paced 65536"
  "shaped_links 8 0 30 paced"
)

server_selected() {
  [ -z "${BENCH_SERVERS:-}" ] && return 0
  [[ " $BENCH_SERVERS " == *" $1 "* ]]
}

selected() {
  [ -z "${BENCH_CASES:-}" ] && return 0
  [[ " $BENCH_CASES " == *" $1 "* ]]
}

trap 'stop_all; shaped_link_down' EXIT
trap 'stop_all; shaped_link_down; exit 130' INT TERM

install_missing_packages
log "building in $build_dir"
build_all

# 1000 viewers need ~1000 descriptors in each of the server and the client.
raise_descriptor_limit "1000 viewers" || exit 1
new_results_folder ""

read -r quality average < <("$build_dir/bench/feeder" --calibrate | awk '/^QUALITY/ {print $2, $4}')
log "frames: jpegenc quality $quality, average $average bytes"

BENCH_COMMIT=$source_commit python3 - "$out/machine.json" "$quality" "$average" "$warmup" "$measure" "$*" <<'PY'
import json, os, platform, subprocess, sys
path, quality, average, warmup, measure, args = sys.argv[1:]
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
json.dump({
    "nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
    "gstreamer": run("gst-inspect-1.0", "--version").splitlines()[1] if run("gst-inspect-1.0", "--version") else "",
    "libsoup": run("pkg-config", "--modversion", "libsoup-3.0"),
    "loadavg_start": open("/proc/loadavg").read().split()[:3],
    "jpeg_quality": int(quality), "jpeg_average_bytes": int(average),
    "warmup_s": float(warmup), "measure_s": float(measure),
    "command": "tests/bench/run.sh" + (" " + args if args else ""),
    "commit": os.environ.get("BENCH_COMMIT", ""),
}, open(path, "w"), indent=1)
PY

# Loopback ceiling: one connection, frame-sized writes, read like a viewer.
"$build_dir/bench/loadclient" --ceiling --measure "$measure" --frame-bytes "$average" \
  >"$out/ceiling.json"
log "loopback ceiling: $(cat "$out/ceiling.json")"

# Extra load-client arguments and extra fields for the case's results row
# (JSON object), set around one run_case call.
case_client_args=()
case_row_extra="{}"
copy_args=()
[ "${BENCH_COPY_BODIES:-0}" = 1 ] && copy_args=(--copy-bodies)

run_case() {
  local name=$1 viewers=$2 slow=$3 rate=$4 connects=$5 server=$6 rcvbuf=${7:-16384}
  [ "$connects" = paced ] && connects=$connect_rate
  local work=$out/$name.$server
  mkdir -p "$work"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  start_feeder "$server" "$rate" "$quality" "$work" || return 1
  # shellcheck disable=SC2046
  timeout $((${warmup%.*} + ${measure%.*} + 30)) "${run_in[@]}" "$build_dir/bench/loadclient" \
    --port "$server_port" $(client_mode_args "$server") \
    --viewers "$viewers" --connect-rate "$connects" --slow "$slow" --slow-rate 100000 --slow-rcvbuf "$rcvbuf" \
    "${case_client_args[@]}" "${copy_args[@]}" --warmup "$warmup" --measure "$measure" \
    --server-pid "$feeder_pid" --server-tid "$server_tid" --counter-file "$work/counter" \
    >"$work/client.json" 2>"$work/client.err" &
  client_pid=$!
  local status=0
  wait "$client_pid" || status=$?
  client_pid=""
  stop_pid "$feeder_pid"
  feeder_pid=""
  if [ "$status" -ne 0 ] || [ ! -s "$work/client.json" ]; then
    log "$name/$server: load client failed ($status): $(tail -3 "$work/client.err")"
    return 0
  fi
  python3 - "$work/client.json" "$results" "$name" "$(server_label "$server")" "$rate" "$load" \
    "$frame_bytes" "$rcvbuf" "$case_row_extra" <<'PY'
import json, os, sys
src, dst, name, server, rate, load, frame_bytes, rcvbuf, extra = sys.argv[1:]
row = json.load(open(src))
row.update({"case": name, "server": server, "rate": float(rate), "loadavg_before": float(load),
            "frame_bytes": int(frame_bytes), "slow_rcvbuf": int(rcvbuf),
            "copy_bodies": os.environ.get("BENCH_COPY_BODIES", "0") == "1"})
row.update(json.loads(extra))
with open(dst, "a") as out:
    out.write(json.dumps(row) + "\n")
PY
  log "$name/$server: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("connected", r["connected"], "fps", r["fps"], "latency", r["latency_ms"]["p50"], r["latency_ms"]["p99"], "cpu/1000", r["cpu_ms_per_1000_frames"])' "$work/client.json")"
}

# The kernel floor (feeder --server floor: one sendmsg per viewer per frame,
# nothing else) runs beside the two servers in the cases at a fixed frame
# rate with only fast viewers: the least CPU and latency any server can have
# on this machine. Beside it the thread-per-viewer floor (floor-threads: the
# same sends from a thread per viewer woken once per frame): the least a
# server of mjpeghttpsink's shape can have. BENCH_FLOOR=0 leaves both out.
floor_cases=" v1 v10 v100 v300 v900 v1000_10fps "
# The shaped-link case: both servers, each in a namespace of its own built
# and removed around its run (a fresh shaper, no TIME_WAIT left between them).
run_shaped_case() {
  local name=$1 viewers=$2 rate=$3 connects=$4 server=$5
  if ! shaped_link_usable; then
    log "$name: skipped: $shaped_skip_reason"
    return 0
  fi
  if ! shaped_link_up; then
    log "$name: skipped: $shaped_skip_reason"
    return 0
  fi
  local saved_measure=$measure
  measure=${BENCH_SHAPED_MEASURE:-30}
  run_in=(ip netns exec "$shaped_netns")
  # shellcheck disable=SC2207  # words by design: "--link P:R" pairs
  case_client_args=($(shaped_link_client_args))
  case_row_extra="{\"link_rates_bps\": $(shaped_link_rates_json), \"link_mtu\": \"$SHAPED_MTU\"}"
  run_case "$name" "$viewers" 0 "$rate" "$connects" "$server"
  shaped_link_stats >"$out/$name.$server/tc-classes.txt" 2>&1 || true
  run_in=()
  case_client_args=()
  case_row_extra="{}"
  measure=$saved_measure
  shaped_link_down
}

for spec in "${ALL_CASES[@]}"; do
  read -r name viewers slow rate connects rcvbuf <<<"$spec"
  selected "$name" || continue
  if [ "$name" = shaped_links ]; then
    for server in mjpeg tcp; do
      server_selected "$server" || continue
      run_shaped_case "$name" "$viewers" "$rate" "$connects" "$server"
    done
    continue
  fi
  servers=(mjpeg tcp)
  [ "${BENCH_FLOOR:-1}" != 0 ] && [[ "$floor_cases" == *" $name "* ]] && servers+=(floor floor-threads)
  for server in "${servers[@]}"; do
    server_selected "$server" || continue
    run_case "$name" "$viewers" "$slow" "$rate" "$connects" "$server" "${rcvbuf:-16384}"
  done
done

python3 - "$out/machine.json" <<'PY'
import json, sys
machine = json.load(open(sys.argv[1]))
machine["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(machine, open(sys.argv[1], "w"), indent=1)
PY
python3 "$bench_dir/report.py" "$out"
log "results in $out"
