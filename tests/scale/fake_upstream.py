# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in origin the test controls: serves a multipart MJPEG stream of
stamped JPEGs (mjpeg_stream.stamp_frame) on a loopback port, and on demand
ends the stream (the closing boundary, then close: what an origin's EOS
looks like), drops it (closes the connection mid-stream, as a crash
would), stalls it (the connection stays open, nothing more is sent), or
answers new requests with 503. It records every request it gets, with
its time and User-Agent, so the test sees when the relay (re)connected."""

import base64
import socket
import threading
import time

from mjpeg_stream import stamp_frame

# A 32x24 JPEG from jpegenc (videotestsrc's colour bars), kept here so the
# test needs no encoder of its own.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERX"
    "RTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAYACADAREAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAA"
    "AAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAk"
    "M2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKT"
    "lJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QA"
    "HwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdh"
    "cRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hp"
    "anN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk"
    "5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDr7j+H8a8XNvsfP9DSn1MO9+83++a78T/uNL/t38j5Gv8A7xP1"
    "f5mHf/fk/D+ld9L/AJFa/r7R+hZF/uVP5/mzEvP9aP8Adr1sj/3eX+L9Ecucfx16fqz1O4/h/Gvi82+x8/0OWn1M"
    "O9+83++a78T/ALjS/wC3fyPka/8AvE/V/mYd/wDfk/D+ld9L/kVr+vtH6FkX+5U/n+bMS8/1o/3a9bI/93l/i/RH"
    "LnH8den6sueD7C21bVZYL+PzY1gLgbiuDuUdseprPHyc4Jy6M+Yy/EVKlRxm7qxD4qUWusT2EA2W0OzYnXHyDuee"
    "5rrw1GFbDx9or/00fY0l7ahFT1/qxnw6hdPYfYmlzb4+5tHrnrjPWvA53bl6HgfV6ftPa297+kdXYTXGn6eU0wvC"
    "nnBHVwjFpCAuRkj0JK9QQOADxJuf/9k="
)
BOUNDARY = b"fakeorigin"


class FakeUpstream:
    def __init__(self, fps=25):
        self.period_s = 1.0 / fps
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.mode = "serve"  # for new requests: "serve" or "refuse"
        self.generation = 0  # bumped to give live streams a new order
        self.order = None  # "end", "drop" or "stall", for streams of older generations
        self.requests = []  # (monotonic time, user agent)
        self.sequence = 0
        self.threads = []
        self.stopping = threading.Event()
        acceptor = threading.Thread(target=self._accept, daemon=True)
        acceptor.start()
        self.threads.append(acceptor)

    @property
    def url(self):
        return "http://127.0.0.1:%d/stream" % self.port

    def refuse_new(self, refuse):
        with self.lock:
            self.mode = "refuse" if refuse else "serve"

    def end_streams(self):
        """Streams open now send the closing boundary and close."""
        self._order("end")

    def drop_streams(self):
        """Streams open now are closed without a closing boundary."""
        self._order("drop")

    def stall_streams(self):
        """Streams open now stop sending but stay open."""
        self._order("stall")

    def _order(self, order):
        with self.lock:
            self.order = order
            self.generation += 1

    def request_times(self):
        with self.lock:
            return [when for when, _ in self.requests]

    def user_agents(self):
        with self.lock:
            return [agent for _, agent in self.requests]

    def stop(self):
        self.stopping.set()
        self.listener.close()
        for thread in self.threads:
            thread.join(5)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _read_request(self, connection):
        connection.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 16384:
            chunk = connection.recv(4096)
            if not chunk:
                return None
            data += chunk
        agent = ""
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"user-agent:"):
                agent = line.split(b":", 1)[1].strip().decode("latin-1")
        return agent

    def _serve(self, connection):
        with connection:
            try:
                agent = self._read_request(connection)
                if agent is None:
                    return
                with self.lock:
                    self.requests.append((time.monotonic(), agent))
                    mode = self.mode
                    generation = self.generation
                if mode == "refuse":
                    connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       b"Connection: close\r\n\r\n")
                    return
                connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: "
                                   b"multipart/x-mixed-replace;boundary=" + BOUNDARY + b"\r\n\r\n")
                self._stream(connection, generation)
            except OSError:
                return

    def _stream(self, connection, generation):
        while not self.stopping.is_set():
            with self.lock:
                order = self.order if self.generation != generation else None
                self.sequence += 1
                sequence = self.sequence
            if order == "end":
                connection.sendall(b"--" + BOUNDARY + b"--\r\n")
                return
            if order == "drop":
                return
            if order == "stall":
                # Open and silent until the relay gives up on it.
                while not self.stopping.is_set():
                    try:
                        connection.settimeout(0.1)
                        if connection.recv(1) == b"":
                            return
                    except socket.timeout:
                        continue
                return
            frame = stamp_frame(TINY_JPEG, time.time_ns(), sequence)
            connection.sendall(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(frame) + frame + b"\r\n")
            time.sleep(self.period_s)
