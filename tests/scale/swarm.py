# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many MJPEG viewers in one thread (non-blocking sockets, selectors), each
keeping what it received: the frames (with arrival time and the origin's
stamp), its connections and which relay served each (nginx's X-Relay
header). A viewer whose stream ends or breaks reconnects after a short
pause, as a browser's <img> reload or a player's retry would.
"""

import errno
import selectors
import socket
import time

from mjpeg_stream import MultipartParser, StreamError

RECONNECT_DELAY_S = 0.1
# Bounds the retries of a viewer whose server stays away.
MAX_CONNECTIONS = 50
READ_SIZE = 256 * 1024


class Connection:
    """One HTTP request and its response."""

    def __init__(self, started_ns):
        self.started_ns = started_ns
        self.relay = None
        self.frames = 0
        self.ended_ns = None
        self.end_reason = None


class Viewer:
    def __init__(self, name, host, port, path, user_agent, reconnect=True):
        self.name = name
        self.address = (host, port)
        self.request = (
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n"
            % (path, host, port, user_agent)
        ).encode()
        self.reconnect = reconnect
        self.frames = []  # every Frame received, over all connections
        self.connections = []
        self.errors = []  # StreamError texts: malformed streams
        self.sock = None
        self.parser = None
        self.pending = b""
        self.retry_at = None

    @property
    def connection(self):
        return self.connections[-1] if self.connections else None

    def frames_between(self, start_ns, end_ns):
        return [f for f in self.frames if start_ns <= f.arrival_ns < end_ns]


class Swarm:
    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.viewers = []

    def add(self, viewer):
        self.viewers.append(viewer)
        self._connect(viewer)
        return viewer

    def _connect(self, viewer):
        viewer.retry_at = None
        if len(viewer.connections) >= MAX_CONNECTIONS:
            return
        viewer.connections.append(Connection(time.time_ns()))
        viewer.parser = MultipartParser()
        viewer.pending = viewer.request
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        status = sock.connect_ex(viewer.address)
        if status not in (0, errno.EINPROGRESS):
            sock.close()
            self._ended(viewer, "connect: %s" % errno.errorcode.get(status, status))
            return
        viewer.sock = sock
        self.selector.register(sock, selectors.EVENT_WRITE, viewer)

    def _ended(self, viewer, reason):
        if viewer.sock is not None:
            self.selector.unregister(viewer.sock)
            viewer.sock.close()
            viewer.sock = None
        connection = viewer.connection
        connection.ended_ns = time.time_ns()
        connection.end_reason = reason
        if viewer.reconnect:
            viewer.retry_at = time.monotonic() + RECONNECT_DELAY_S

    def _on_writable(self, viewer):
        try:
            sent = viewer.sock.send(viewer.pending)
        except OSError as error:
            self._ended(viewer, "send: %s" % error)
            return
        viewer.pending = viewer.pending[sent:]
        if not viewer.pending:
            self.selector.modify(viewer.sock, selectors.EVENT_READ, viewer)

    def _on_readable(self, viewer):
        try:
            data = viewer.sock.recv(READ_SIZE)
        except OSError as error:
            self._ended(viewer, "recv: %s" % error)
            return
        if not data:
            self._ended(viewer, "closed" if not viewer.parser.closed else "end of stream")
            return
        try:
            frames = viewer.parser.feed(data, time.time_ns())
        except StreamError as error:
            viewer.errors.append(str(error))
            self._ended(viewer, "bad stream: %s" % error)
            return
        connection = viewer.connection
        if connection.relay is None and viewer.parser.status is not None:
            connection.relay = viewer.parser.headers.get("x-relay", "")
        connection.frames += len(frames)
        viewer.frames.extend(frames)

    def run(self, seconds=None, until=None, limit_s=30):
        """Serves the viewers for `seconds`, or until `until()` is true
        (checked every 50 ms), and at most `limit_s`. Returns whether `until`
        came true (True when only `seconds` was given)."""
        deadline = time.monotonic() + (seconds if seconds is not None else limit_s)
        next_check = 0.0
        while True:
            now = time.monotonic()
            if until is not None and now >= next_check:
                if until():
                    return True
                next_check = now + 0.05
            if now >= deadline:
                return until is None
            for viewer in self.viewers:
                if viewer.retry_at is not None and now >= viewer.retry_at:
                    self._connect(viewer)
            if not self.selector.get_map():
                time.sleep(min(0.05, max(0.0, deadline - now)))
                continue
            for key, events in self.selector.select(timeout=min(0.05, max(0.0, deadline - now))):
                viewer = key.data
                if events & selectors.EVENT_WRITE:
                    self._on_writable(viewer)
                elif events & selectors.EVENT_READ:
                    self._on_readable(viewer)

    def close(self):
        for viewer in self.viewers:
            viewer.reconnect = False
            if viewer.sock is not None:
                self._ended(viewer, "closed by the test")
        self.selector.close()
