# SPDX-License-Identifier: LGPL-2.1-or-later
"""A TCP port on 127.0.0.1 for a server that must be told its port before it
binds (nginx, Motion, systemd-socket-activate, two elements sharing a port).

The port is taken from below the kernel's ephemeral range: a port the kernel
handed out with bind(port 0) is handed out again to the next outgoing
connection of any test running beside this one, which then holds it when our
server binds. Below the range only another explicit bind can clash, and
callers retry for that. Run as a program, it prints the port."""
import random
import socket

FLOOR = 10000


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    low, high = ephemeral_range()
    # With the range starting low, use the ports above it instead.
    candidates = (FLOOR, low - 1) if low - 1 - FLOOR >= 1000 else (high + 1, 65535)
    for _ in range(200):
        port = random.randint(*candidates)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    print(free_port())
