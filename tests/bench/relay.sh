#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Relay-tree benchmark (issue 7): one origin, 3 relays (mjpeg-relay) and
# nginx (pipelines/front.sh) on loopback, with many viewers through nginx.
# Run by hand, never by CI.
#
#   tests/bench/relay.sh [VIEWERS...]     default: 300 600 900
#
# Per case (one per VIEWERS value): per-viewer fps, latency at each hop
# (origin, relay, nginx; from the origin's stamps) and CPU per process
# (from /proc) over the measurement window. A case takes warm-up + window +
# a few seconds of start and stop (about 22 s with the defaults; a case is
# killed after warm-up + window + 40 s).
#
# Environment: BENCH_RATE (30), BENCH_SIZE (1280x720), BENCH_TARGET_BYTES
# (100000: jpegenc quality bisected to this average frame size),
# BENCH_RELAYS (3), BENCH_WARMUP (10), BENCH_MEASURE (10),
# BENCH_CONNECT_RATE (300 viewers/s), BENCH_BUILD_DIR (build-bench),
# BENCH_OUT (results dir), BENCH_SOURCE (head|tree, as run.sh).
# Prints a markdown table; results.jsonl goes to the results dir.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$bench_dir/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo_root/build-bench}
# shellcheck source=lib.sh
source "$bench_dir/lib.sh"

rate=${BENCH_RATE:-30}
size=${BENCH_SIZE:-1280x720}
target_bytes=${BENCH_TARGET_BYTES:-100000}
relays=${BENCH_RELAYS:-3}
warmup=${BENCH_WARMUP:-10}
measure=${BENCH_MEASURE:-10}
connect_rate=${BENCH_CONNECT_RATE:-300}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(300 600 900)

install_missing_packages nginx-light
log "building in $build_dir"
build_all

# Every viewer is a descriptor in the load client and two in nginx.
raise_descriptor_limit "900 viewers" || exit 1
new_results_folder relay-

read -r quality average < <("$build_dir/bench/feeder" --calibrate --size "$size" \
  --target-bytes "$target_bytes" | awk '/^QUALITY/ {print $2, $4}')
log "frames: $size, jpegenc quality $quality, average $average bytes; commit $source_commit"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for viewers in "${cases[@]}"; do
  log "case: $viewers viewers, $relays relays, $rate fps"
  if timeout $((warmup + measure + 40)) python3 "$bench_dir/relay_case.py" \
    --build "$build_dir/meson" --bench-bin "$build_dir/bench" --viewers "$viewers" \
    --relays "$relays" --rate "$rate" --size "$size" --quality "$quality" \
    --warmup "$warmup" --measure "$measure" --connect-rate "$connect_rate" \
    --work "$out/v$viewers" >"$out/v$viewers.json" 2>"$out/v$viewers.err"; then
    cat "$out/v$viewers.json" >>"$results"
  else
    log "case $viewers failed: $(tail -5 "$out/v$viewers.err")"
  fi
done
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" "$source_commit" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
if not rows:
    sys.exit("no results")
first = rows[0]
print("commit %s; frames %s, %d bytes average, %g fps; %d relays\n"
      % (sys.argv[2], first["size"], first["frame_bytes"], first["rate"], first["relays"]))
names = [n for n in first["cpu_percent"]]
head = ["viewers", "connected", "fps min", "fps median", "bad frames",
        "latency p50 origin / relay / nginx (ms)", "latency p99 origin / relay / nginx (ms)"]
head += ["CPU %% %s" % n for n in names] + ["machine busy (cores)"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
def hops(row, key):
    return " / ".join("%.1f" % (row["latency_ms"][h][key] or -1) for h in ("origin", "relay", "nginx"))
for row in rows:
    cells = [row["viewers"], row["connected"], "%.2f" % row["fps"]["min"],
             "%.2f" % row["fps"]["median"], row["bad_frames"], hops(row, "p50"), hops(row, "p99")]
    cells += [row["cpu_percent"].get(n, "–") for n in names] + [row["machine_busy_cores"]]
    print("| " + " | ".join(str(c) for c in cells) + " |")
PY
log "results in $out"
