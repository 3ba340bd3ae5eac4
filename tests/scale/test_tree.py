#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A relay tree on loopback: one origin (the benchmark's feeder: mjpeghttpsink
fed stamped JPEGs at 30 fps), three relays (pipelines/mjpeg-relay.c) and
nginx in front (pipelines/front.sh), with 30 viewers through nginx.

- The origin has exactly one viewer per relay (its /stats: viewers_now and
  the relays' user agents), before and after the viewers arrive.
- nginx spreads the viewers over the three relays; every viewer gets whole
  JPEG frames (the origin's stamps intact) at the source rate.
- Latency per hop (origin -> relay -> nginx) from the stamps, reported.
- SIGKILL one relay: its viewers, and only they, lose their stream,
  reconnect through nginx to the other relays and get frames again; the
  other viewers keep their connection with no gap beyond the usual; the
  origin is left with one viewer per remaining relay.
- HTTPS through nginx's TLS server (a self-signed certificate made here).
- The remaining relays exit 0 on SIGTERM.

Usage: test_tree.py FEEDER RELAY FRONT_SH
"""

import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

from mjpeg_stream import MultipartParser
from processes import SKIP, await_condition, check, free_port, run_test, say, TestFailure
from swarm import Swarm, Viewer

RATE = 30
FRAME_SIZE = "640x360"
QUALITY = 46  # about 25 KB a frame at that size
RELAYS = 3
VIEWERS = 30
STEADY_S = 5
# Generous sanity bounds, not timing targets.
MIN_RATE_SHARE = 0.7  # unique frames per second at least this share of RATE
MAX_MEDIAN_LATENCY_MS = 1000
NGINX = "/usr/sbin/nginx"


def http_json(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as answer:
        return json.load(answer)


def relay_viewers_of(origin_port):
    """The origin's viewers that are relays, by user agent."""
    stats = http_json(origin_port, "/stats")
    agents = [v["user_agent"] for v in stats["viewers"]]
    return stats["viewers_now"], sorted(a for a in agents if a.startswith("mjpeg-relay"))


def first_arrivals(frames):
    """Each frame once (idle-resend repeats the last one), as first seen."""
    seen = set()
    unique = []
    for frame in frames:
        if frame.sequence not in seen:
            seen.add(frame.sequence)
            unique.append(frame)
    return unique


def latencies_ms(viewers, start_ns, end_ns):
    values = []
    for viewer in viewers:
        for frame in first_arrivals(viewer.frames_between(start_ns, end_ns)):
            values.append((frame.arrival_ns - frame.send_ns) / 1e6)
    return sorted(values)


def percentile(sorted_values, share):
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def largest_gap_s(viewer, start_ns, end_ns):
    arrivals = [f.arrival_ns for f in first_arrivals(viewer.frames_between(start_ns, end_ns))]
    if len(arrivals) < 2:
        return float("inf")
    return max(b - a for a, b in zip(arrivals, arrivals[1:])) / 1e9


def make_certificate(directory):
    cert = os.path.join(directory, "front-cert.pem")
    key = os.path.join(directory, "front-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def start_front(processes, front_sh, relay_ports, cert, key):
    """nginx on free ports (it cannot report a port it picked itself); tried
    again on other ports if another process took one meanwhile."""
    for attempt in range(3):
        port, tls_port = free_port(), free_port()
        front = processes.start("front%d" % attempt, [
            front_sh, "--port", str(port), "--tls-port", str(tls_port), "--cert", cert,
            "--key", key, "--prefix", os.path.join(processes.workdir, "front%d" % attempt)]
            + ["127.0.0.1:%d" % p for p in relay_ports])

        def accepting():
            if not front.running():
                return "exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                return "up"
            except OSError:
                return None

        state = await_condition(accepting)
        if state == "up":
            return front, port, tls_port
        check(state == "exited" and "Address already in use" in front.log(),
              "nginx did not start:\n%s" % front.log())
    raise TestFailure("nginx found no free port in 3 attempts")


def read_tls_frames(port, cafile, count, limit_s=10):
    context = ssl.create_default_context(cafile=cafile)
    parser = MultipartParser()
    frames = []
    deadline = time.monotonic() + limit_s
    with socket.create_connection(("127.0.0.1", port), timeout=limit_s) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: scale-tls\r\n\r\n")
            while len(frames) < count and time.monotonic() < deadline:
                data = tls.recv(65536)
                if not data:
                    break
                frames += parser.feed(data, time.time_ns())
    return parser, frames


def main(processes):
    feeder_binary, relay_binary, front_sh = sys.argv[1:4]
    if not os.access(NGINX, os.X_OK) or not shutil.which("openssl"):
        say("SKIP: nginx (nginx-light) or openssl is not installed")
        return SKIP

    origin = processes.start("origin", [feeder_binary, "--server", "mjpeg", "--size", FRAME_SIZE,
                                        "--quality", str(QUALITY), "--rate", str(RATE)])
    origin_port = int(origin.await_line(r"^READY port=(\d+)", limit_s=60).group(1))
    upstream = "http://127.0.0.1:%d/stream" % origin_port
    relays = {}
    for index in range(1, RELAYS + 1):
        name = "relay%d" % index
        relay = processes.start(name, [relay_binary, upstream, "0", "--name", name])
        port = int(relay.await_line(r"^serving http://127\.0\.0\.1:(\d+)/").group(1))
        relay.await_line(r"^upstream: streaming$")
        relays[port] = (name, relay)
    expected_agents = sorted("mjpeg-relay (%s)" % name for name, _ in relays.values())
    check(await_condition(lambda: relay_viewers_of(origin_port) == (RELAYS, expected_agents)),
          "the origin's viewers are %r, not one per relay" % (relay_viewers_of(origin_port),))

    cert, key = make_certificate(processes.workdir)
    front, front_port, tls_port = start_front(processes, front_sh, list(relays), cert, key)
    say("origin :%d, relays %s, nginx :%d (https :%d)"
        % (origin_port, sorted(relays), front_port, tls_port))

    swarm = Swarm()
    try:
        viewers = [swarm.add(Viewer("viewer%d" % i, "127.0.0.1", front_port, "/stream",
                                    "scale-viewer-%d" % i)) for i in range(VIEWERS)]
        check(swarm.run(until=lambda: all(len(v.frames) >= 5 for v in viewers)),
              "not every viewer got frames through nginx: %s"
              % [(v.name, len(v.frames), v.connection.end_reason) for v in viewers])
        check(relay_viewers_of(origin_port) == (RELAYS, expected_agents),
              "with viewers on the relays the origin's viewers are %r"
              % (relay_viewers_of(origin_port),))
        served_by = {}
        for viewer in viewers:
            check(viewer.connection.relay, "%s: no X-Relay header from nginx" % viewer.name)
            port = int(viewer.connection.relay.rpartition(":")[2])
            check(port in relays, "%s served by %s, not a relay" % (viewer.name, port))
            served_by.setdefault(port, []).append(viewer)
        shares = {relays[p][0]: len(v) for p, v in sorted(served_by.items())}
        say("viewers per relay: %s" % shares)
        check(len(served_by) == RELAYS and min(shares.values()) >= VIEWERS // RELAYS // 2,
              "nginx did not spread the viewers over the relays: %s" % shares)

        # One viewer straight at the origin and one at each relay, for the
        # latency of each hop (added after the viewer count was checked).
        probes = {"origin": [swarm.add(Viewer("probe-origin", "127.0.0.1", origin_port,
                                              "/stream", "scale-probe", reconnect=False))],
                  "relay": [swarm.add(Viewer("probe-" + name, "127.0.0.1", port, "/stream",
                                             "scale-probe", reconnect=False))
                            for port, (name, _) in relays.items()]}
        check(swarm.run(until=lambda: all(len(v.frames) >= 5 for g in probes.values() for v in g)),
              "the latency probes got no frames")

        steady_start = time.time_ns()
        swarm.run(seconds=STEADY_S)
        steady_end = time.time_ns()
        window_s = (steady_end - steady_start) / 1e9
        rates = []
        for viewer in viewers:
            check(not viewer.errors, "%s: malformed stream: %s" % (viewer.name, viewer.errors))
            check(len(viewer.connections) == 1, "%s reconnected in the steady phase: %s"
                  % (viewer.name, viewer.connections[0].end_reason))
            unique = first_arrivals(viewer.frames_between(steady_start, steady_end))
            rates.append(len(unique) / window_s)
        say("frames per second per viewer through nginx: min %.1f, median %.1f, max %.1f "
            "(source %d)" % (min(rates), statistics.median(rates), max(rates), RATE))
        check(min(rates) >= RATE * MIN_RATE_SHARE,
              "a viewer got %.1f frames per second of %d" % (min(rates), RATE))

        hops = {}
        for group, members in (("origin", probes["origin"]), ("relay", probes["relay"]),
                               ("nginx", viewers)):
            values = latencies_ms(members, steady_start, steady_end)
            check(values, "no frames for the %s latency" % group)
            hops[group] = (statistics.median(values), percentile(values, 0.95))
        say("latency from the origin's send, median / p95: at the origin %.1f / %.1f ms, "
            "through a relay %.1f / %.1f ms, through a relay and nginx %.1f / %.1f ms"
            % (hops["origin"] + hops["relay"] + hops["nginx"]))
        say("per hop (medians): relay +%.1f ms, nginx +%.1f ms"
            % (hops["relay"][0] - hops["origin"][0], hops["nginx"][0] - hops["relay"][0]))
        check(hops["nginx"][0] < MAX_MEDIAN_LATENCY_MS,
              "median latency through the tree %.0f ms" % hops["nginx"][0])

        # SIGKILL the relay with the most viewers.
        victim_port = max(served_by, key=lambda p: len(served_by[p]))
        victim_name, victim = relays.pop(victim_port)
        moved, stayed = served_by[victim_port], [v for v in viewers
                                                  if v not in served_by[victim_port]]
        before_kill = time.time_ns()
        swarm.run(seconds=1)
        killed_at = time.time_ns()
        victim.stop(signal.SIGKILL)
        say("killed %s (%d viewers)" % (victim_name, len(moved)))

        def back(viewer):
            connection = viewer.connection
            return (len(viewer.connections) > 1 and connection.relay
                    and int(connection.relay.rpartition(":")[2]) in relays
                    and connection.frames >= 5)

        check(swarm.run(until=lambda: all(back(v) for v in moved)),
              "not every viewer of the killed relay came back through nginx: %s"
              % [(v.name, len(v.connections), v.connection.relay, v.connection.frames)
                 for v in moved if not back(v)])
        swarm.run(seconds=1)
        recovered_at = time.time_ns()
        outages_s = []
        for viewer in moved:
            first_new = next(f for f in viewer.frames if f.arrival_ns > viewer.connections[0].ended_ns)
            outages_s.append((first_new.arrival_ns - killed_at) / 1e9)
        say("the killed relay's viewers got frames again %.2f s (median) / %.2f s (max) after "
            "the kill" % (statistics.median(outages_s), max(outages_s)))
        worst_gap = 0.0
        for viewer in stayed:
            check(len(viewer.connections) == 1 and viewer.connection.ended_ns is None,
                  "%s (on a surviving relay) lost its stream: %s"
                  % (viewer.name, viewer.connection.end_reason))
            usual = largest_gap_s(viewer, steady_start, before_kill)
            gap = largest_gap_s(viewer, killed_at - 10**9, recovered_at)
            worst_gap = max(worst_gap, gap)
            check(gap <= max(1.0, 2 * usual),
                  "%s (on a surviving relay) had a %.2f s gap around the kill (usual %.2f s)"
                  % (viewer.name, gap, usual))
        say("viewers of the other relays: same connection, largest gap %.0f ms" % (worst_gap * 1e3))
        for viewer in moved:
            check(not viewer.errors, "%s: malformed stream: %s" % (viewer.name, viewer.errors))
        remaining = sorted("mjpeg-relay (%s)" % name for name, _ in relays.values())
        check(await_condition(lambda: relay_viewers_of(origin_port)[1] == remaining),
              "after the kill the origin's relay viewers are %r, not %r"
              % (relay_viewers_of(origin_port)[1], remaining))

        parser, frames = read_tls_frames(tls_port, cert, 5)
        check(len(frames) >= 5, "HTTPS through nginx gave %d frames" % len(frames))
        check(int(parser.headers.get("x-relay", ":0").rpartition(":")[2]) in relays,
              "HTTPS served by %r" % parser.headers.get("x-relay"))
        say("HTTPS through nginx: %d whole frames, certificate verified" % len(frames))
    finally:
        swarm.close()

    for port, (name, relay) in relays.items():
        status = relay.stop(signal.SIGTERM)
        check(status == 0, "%s exited with %s on SIGTERM:\n%s" % (name, status, relay.log()))
    say("PASS")
    return 0


if __name__ == "__main__":
    run_test(main)
