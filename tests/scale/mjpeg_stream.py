# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parses an MJPEG HTTP response (multipart/x-mixed-replace) fed to it in
pieces, as a viewer receives it, and checks that every part is a whole JPEG.

Frames made by tests/bench/feeder.cpp (and by fake_upstream.py) carry a JPEG
COM segment right after the SOI: magic "MJBT", the send time
(CLOCK_REALTIME, ns) and a sequence number, both big-endian 64-bit. Relays
pass the JPEG on untouched, so the stamp tells, at every hop, which frame
arrived and how long after it left the origin.
"""

import struct

STAMP_MAGIC = b"MJBT"
# SOI, COM marker, COM length (22: itself + magic + time + sequence).
STAMP_PREFIX = b"\xff\xd8\xff\xfe\x00\x16" + STAMP_MAGIC
STAMP_SIZE = len(STAMP_PREFIX) + 16
# No part header or response head in these tests comes near this; more means
# the stream is not what it should be.
MAX_HEAD = 16384


class StreamError(Exception):
    """The bytes are not a well-formed MJPEG stream of whole JPEGs."""


def stamp_frame(jpeg, send_ns, sequence):
    """A copy of `jpeg` with the stamp inserted after its SOI."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    return STAMP_PREFIX + struct.pack(">QQ", send_ns, sequence) + jpeg[2:]


def read_stamp(jpeg):
    """(send_ns, sequence) of a stamped frame, None for an unstamped one."""
    if not jpeg.startswith(STAMP_PREFIX) or len(jpeg) < STAMP_SIZE:
        return None
    return struct.unpack_from(">QQ", jpeg, len(STAMP_PREFIX))


class Frame:
    __slots__ = ("arrival_ns", "send_ns", "sequence", "size")

    def __init__(self, arrival_ns, send_ns, sequence, size):
        self.arrival_ns = arrival_ns
        self.send_ns = send_ns
        self.sequence = sequence
        self.size = size


class MultipartParser:
    """Feed it the response bytes; it returns the frames completed by each
    piece. Raises StreamError on anything but whole stamped JPEG parts."""

    def __init__(self):
        self.buffer = bytearray()
        self.status = None
        self.headers = {}
        self.delimiter = None  # b"--" + boundary
        self.body_left = None  # bytes of the current part still to come
        self.closed = False  # the closing boundary arrived (the server's EOS)

    def feed(self, data, now_ns):
        self.buffer += data
        frames = []
        while True:
            if self.status is None:
                if not self._parse_response_head():
                    break
            elif self.closed:
                break
            elif self.body_left is None:
                if not self._parse_part_head():
                    break
            else:
                frame = self._take_body(now_ns)
                if frame is None:
                    break
                frames.append(frame)
        return frames

    def _take_head(self):
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                raise StreamError("no end of headers within %d bytes" % MAX_HEAD)
            return None
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        return head.split("\r\n")

    def _parse_response_head(self):
        lines = self._take_head()
        if lines is None:
            return False
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise StreamError("bad status line %r" % lines[0])
        self.status = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status != 200:
            raise StreamError("status %d" % self.status)
        content_type = self.headers.get("content-type", "")
        if not content_type.startswith("multipart/x-mixed-replace"):
            raise StreamError("content type %r" % content_type)
        if "chunked" in self.headers.get("transfer-encoding", ""):
            raise StreamError("chunked stream (the front should pass the stream as it is)")
        boundary = content_type.partition("boundary=")[2].strip('"')
        if not boundary:
            raise StreamError("no boundary in %r" % content_type)
        self.delimiter = b"--" + boundary.encode()
        return True

    def _parse_part_head(self):
        # A part starts with the delimiter line; the CRLF after the previous
        # body was consumed with it.
        need = len(self.delimiter) + 2
        if len(self.buffer) < need:
            return False
        if not self.buffer.startswith(self.delimiter):
            raise StreamError("expected the boundary, got %r" % bytes(self.buffer[:40]))
        if self.buffer[len(self.delimiter) : need] == b"--":
            self.closed = True
            return False
        lines = self._take_head()
        if lines is None:
            return False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("content-type") != "image/jpeg":
            raise StreamError("part content type %r" % headers.get("content-type"))
        if "content-length" not in headers:
            raise StreamError("part without Content-Length")
        self.body_left = int(headers["content-length"])
        return True

    def _take_body(self, now_ns):
        if len(self.buffer) < self.body_left + 2:
            return None
        body = bytes(self.buffer[: self.body_left])
        if self.buffer[self.body_left : self.body_left + 2] != b"\r\n":
            raise StreamError("part body longer than its Content-Length")
        del self.buffer[: self.body_left + 2]
        self.body_left = None
        if not body.endswith(b"\xff\xd9"):
            raise StreamError("part is not a whole JPEG (no EOI)")
        stamp = read_stamp(body)
        if stamp is None:
            raise StreamError("part without the origin's stamp")
        return Frame(now_ns, stamp[0], stamp[1], len(body))
