#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One case of the relay-tree benchmark (run by tests/bench/relay.sh, by
hand): an origin (feeder.cpp: mjpeghttpsink fed stamped JPEGs), RELAYS
relays (mjpeg-relay) and nginx (pipelines/front.sh) on loopback; VIEWERS
viewers through nginx (loadclient.cpp), plus one probe viewer straight at
the origin and one at a relay, all measured over the same window.

Prints one JSON object: per-viewer fps through nginx, latency at each hop
(from the origin's stamps), and CPU per process from /proc/PID/stat over the
window (origin, each relay, each nginx worker, the load clients).

  relay_case.py --build DIR --viewers N [--relays 3] [--rate 30] [--size WxH]
                --quality Q [--warmup S] [--measure S] [--connect-rate R] --work DIR
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scale"))
from processes import Processes, TestFailure, await_condition, free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command: state is field 3; utime, stime are 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                if int(stat.read().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def machine_busy():
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True, help="meson build dir (release)")
    parser.add_argument("--bench-bin", required=True, help="dir with feeder and loadclient")
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--relays", type=int, default=3)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--quality", type=int, default=48)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--measure", type=float, default=10)
    parser.add_argument("--connect-rate", type=float, default=300)
    parser.add_argument("--work", required=True)
    options = parser.parse_args()
    os.makedirs(options.work, exist_ok=True)
    processes = Processes(options.work)
    try:
        print(json.dumps(run_case(options, processes)))
    except TestFailure as failure:
        print("relay_case: %s" % failure, file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
    return 0


def run_case(options, processes):
    feeder = os.path.join(options.bench_bin, "feeder")
    loadclient = os.path.join(options.bench_bin, "loadclient")
    relay_binary = os.path.join(options.build, "pipelines", "mjpeg-relay")
    origin = processes.start("origin", [
        feeder, "--server", "mjpeg", "--size", options.size, "--quality", str(options.quality),
        "--rate", str(options.rate), "--counter-file", os.path.join(options.work, "counter")])
    ready = origin.await_line(r"^READY port=(\d+) tid=\d+ frame_bytes=(\d+)", limit_s=60)
    origin_port, frame_bytes = int(ready.group(1)), int(ready.group(2))
    upstream = "http://127.0.0.1:%d/stream" % origin_port
    relays = []
    for index in range(1, options.relays + 1):
        relay = processes.start("relay%d" % index, [relay_binary, upstream, "0", "--name",
                                                    "relay%d" % index])
        port = int(relay.await_line(r"^serving http://127\.0\.0\.1:(\d+)/").group(1))
        relay.await_line(r"^upstream: streaming$")
        relays.append((relay, port))

    front_port = free_port()
    front = processes.start("front", [os.path.join(ROOT, "pipelines", "front.sh"), "--port",
                                      str(front_port), "--prefix",
                                      os.path.join(options.work, "front")]
                            + ["127.0.0.1:%d" % port for _, port in relays])
    workers = await_condition(lambda: front.running() and len(children_of(front.pid)) > 0 and
                              children_of(front.pid))
    if not workers:
        raise TestFailure("nginx did not start:\n" + front.log())

    timing = ["--warmup", str(options.warmup), "--measure", str(options.measure)]
    clients = {
        "nginx": processes.start("client-nginx", [
            loadclient, "--port", str(front_port), "--mode", "http", "--path", "/stream",
            "--viewers", str(options.viewers), "--connect-rate", str(options.connect_rate),
            "--counter-file", os.path.join(options.work, "counter")] + timing),
        "origin": processes.start("client-origin", [
            loadclient, "--port", str(origin_port), "--mode", "http", "--path", "/stream",
            "--viewers", "1"] + timing),
        "relay": processes.start("client-relay", [
            loadclient, "--port", str(relays[0][1]), "--mode", "http", "--path", "/stream",
            "--viewers", "1"] + timing),
    }
    # The clients open their windows warmup seconds after they start; this
    # samples the processes' CPU at the same moments.
    started = time.monotonic()
    watched = {"origin": [origin.pid], "nginx workers": workers,
               "load client": [clients["nginx"].pid]}
    for relay, _ in relays:
        watched[relay.name] = [relay.pid]
    time.sleep(max(0.0, started + options.warmup - time.monotonic()))
    before = {name: [cpu_seconds(pid) for pid in pids] for name, pids in watched.items()}
    busy_before = machine_busy()
    time.sleep(max(0.0, started + options.warmup + options.measure - time.monotonic()))
    after = {name: [cpu_seconds(pid) for pid in pids] for name, pids in watched.items()}
    busy_after = machine_busy()

    results = {}
    for name, client in clients.items():
        if client.popen.wait(options.measure + 60) != 0:
            raise TestFailure("load client %s failed:\n%s" % (name, client.log()))
        lines = [line for line in client.log().splitlines() if line.startswith("{")]
        if not lines:
            raise TestFailure("load client %s printed no result:\n%s" % (name, client.log()))
        results[name] = json.loads(lines[-1])

    cpu_percent = {}
    for name in watched:
        spent = [b - a for a, b in zip(before[name], after[name]) if a is not None and b is not None]
        cpu_percent[name] = round(100 * sum(spent) / options.measure, 1)
    busy = busy_after[0] - busy_before[0]
    total = busy_after[1] - busy_before[1]
    main = results["nginx"]
    return {
        "viewers": options.viewers, "relays": options.relays, "rate": options.rate,
        "size": options.size, "frame_bytes": frame_bytes,
        "connected": main["connected"], "fps": main["fps"], "bad_frames": main["bad_frames"],
        "pushed_fps": main["pushed_fps"],
        "latency_ms": {hop: results[hop]["latency_ms"] for hop in ("origin", "relay", "nginx")},
        "cpu_percent": cpu_percent,
        "machine_busy_cores": round(os.cpu_count() * busy / total, 2) if total else None,
        "nproc": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.exit(main())
