#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The relay (pipelines/mjpeg-relay.c) against an origin the test controls
(fake_upstream.py), with one viewer on the relay all along:

- it relays whole frames, untouched (the origin's stamps come through), and
  the caps multipartdemux gives them (image/jpeg) are accepted by the sink;
- the origin ends its stream, then refuses (503) a few times: the EOS does
  not reach the relay's viewer (no closing boundary, same connection), the
  viewer keeps getting the last frame (idle-resend), the relay retries with
  growing delays no longer than --backoff-max, and frames flow again once
  the origin serves;
- the origin drops the connection mid-stream (no closing boundary): the
  relay reconnects, the viewer keeps its connection;
- the origin stalls (connection open, nothing sent): the watchdog notices
  and the relay reconnects, from the shortest delay again (a frame came
  since the last failure), and the viewer still has the same connection;
- SIGTERM: the viewer gets the closing boundary and the relay exits 0.

Usage: test_relay.py RELAY_BINARY
"""

import re
import signal
import sys
import time

from fake_upstream import FakeUpstream
from processes import await_condition, check, run_test, say
from swarm import Swarm, Viewer

STALL_TIMEOUT_MS = 1000
BACKOFF_MIN_MS = 200
BACKOFF_MAX_MS = 800
REFUSALS = 5  # delays 200 (after the EOS), 400, 800, 800, 800 ms less jitter: the cap is reached
IDLE_RESEND_S = 1.0  # the sink's default


def sequences(frames):
    return [frame.sequence for frame in frames]


def main(processes):
    relay_binary = sys.argv[1]
    origin = FakeUpstream(fps=25)
    swarm = Swarm()
    try:
        relay = processes.start("relay", [
            relay_binary, origin.url, "0", "--name", "under-test",
            "--stall-timeout", str(STALL_TIMEOUT_MS),
            "--backoff-min", str(BACKOFF_MIN_MS), "--backoff-max", str(BACKOFF_MAX_MS)])
        port = int(relay.await_line(r"^serving http://127\.0\.0\.1:(\d+)/").group(1))
        viewer = swarm.add(Viewer("viewer", "127.0.0.1", port, "/stream", "scale-test",
                                  reconnect=False))

        check(swarm.run(until=lambda: len(viewer.frames) >= 10), "no frames through the relay")
        relay.await_line(r"^upstream caps: image/jpeg$")
        check(origin.user_agents() == ["mjpeg-relay (under-test)"],
              "the origin saw %r, not one request from the relay" % origin.user_agents())
        ordered = sequences(viewer.frames)
        check(ordered == sorted(ordered), "frames out of order: %r" % ordered)
        say("relayed %d frames, caps image/jpeg" % len(viewer.frames))

        # The origin's stream ends, and it refuses the next requests.
        origin.refuse_new(True)
        before = len(origin.request_times())
        last_sequence = viewer.frames[-1].sequence
        ended_at = time.time_ns()
        origin.end_streams()
        check(swarm.run(until=lambda: len(origin.request_times()) >= before + REFUSALS),
              "the relay did not retry %d times after the origin ended its stream" % REFUSALS)
        times = origin.request_times()[before - 1:]
        intervals_ms = [round((b - a) * 1000) for a, b in zip(times[1:], times[2:])]
        say("retry intervals after the refusals: %s ms" % intervals_ms)
        # Each delay is its nominal value less up to a quarter: it at least
        # grows by half until the cap, and never passes the cap (plus the
        # time a refusal takes, generous here).
        for earlier, later in zip(intervals_ms, intervals_ms[1:]):
            if earlier < BACKOFF_MAX_MS * 0.75:
                check(later >= earlier * 1.2, "the retry delay did not grow: %s ms" % intervals_ms)
        check(max(intervals_ms) <= BACKOFF_MAX_MS + 1000,
              "a retry delay passed --backoff-max: %s ms" % intervals_ms)
        check(intervals_ms[-1] >= BACKOFF_MAX_MS * 0.75 - 50,
              "the delay did not reach --backoff-max: %s ms" % intervals_ms)
        resent = [f for f in viewer.frames_between(ended_at, time.time_ns())
                  if f.sequence == last_sequence]
        check(len(resent) >= 1, "the viewer was not sent the last frame again while the origin "
              "was away (idle-resend)")
        check(viewer.connection.ended_ns is None and not viewer.parser.closed,
              "the origin's end of stream reached the relay's viewer: %s"
              % viewer.connection.end_reason)

        origin.refuse_new(False)
        check(swarm.run(until=lambda: viewer.frames[-1].sequence > last_sequence + 10),
              "no new frames once the origin served again")
        relay.await_line(r"^upstream ended its stream: reconnecting in \d+ ms$")
        say("origin EOS and %d refusals: the viewer kept its connection, got %d resends of the "
            "last frame, then new frames" % (REFUSALS, len(resent)))

        # The origin closes the connection mid-stream, as a crash would.
        before = len(origin.request_times())
        dropped_sequence = viewer.frames[-1].sequence
        origin.drop_streams()
        check(swarm.run(until=lambda: len(origin.request_times()) > before),
              "the relay did not reconnect after the origin dropped the connection")
        check(swarm.run(until=lambda: viewer.frames[-1].sequence > dropped_sequence + 10),
              "no new frames after the origin dropped the connection")
        check(viewer.connection.ended_ns is None and len(viewer.connections) == 1,
              "the viewer lost its connection when the origin dropped the relay's")
        say("origin dropped the connection: the relay reconnected, the viewer kept its own")

        # The origin stalls: connected, silent.
        before = len(origin.request_times())
        stalled_sequence = viewer.frames[-1].sequence
        stalled_at = time.monotonic()
        origin.stall_streams()
        check(swarm.run(until=lambda: len(origin.request_times()) > before),
              "the relay did not reconnect after the origin stalled")
        noticed_s = origin.request_times()[before] - stalled_at
        match = relay.await_line(r"^upstream stalled \(no frame for %d ms\): reconnecting in "
                                 r"(\d+) ms$" % STALL_TIMEOUT_MS)
        check(int(match.group(1)) <= BACKOFF_MIN_MS,
              "after a working connection the delay did not start again from --backoff-min: "
              "%s ms" % match.group(1))
        check(swarm.run(until=lambda: viewer.frames[-1].sequence > stalled_sequence + 10),
              "no new frames after the stall")
        check(viewer.connection.ended_ns is None and len(viewer.connections) == 1,
              "the viewer lost its connection during the stall")
        say("stall noticed and reconnected %.2f s after the origin went silent "
            "(stall-timeout %d ms)" % (noticed_s, STALL_TIMEOUT_MS))

        ordered = sequences(viewer.frames)
        check(all(b >= a for a, b in zip(ordered, ordered[1:])),
              "frames went backwards across reconnections")
        check(not viewer.errors, "malformed stream: %s" % viewer.errors)

        status = relay.stop(signal.SIGTERM)
        check(status == 0, "the relay exited with %s on SIGTERM:\n%s" % (status, relay.log()))
        check(swarm.run(until=lambda: viewer.parser.closed or viewer.sock is None, limit_s=10)
              and viewer.parser.closed, "no closing boundary for the viewer on SIGTERM")
        say("PASS")
        return 0
    finally:
        swarm.close()
        origin.stop()


if __name__ == "__main__":
    run_test(main)
