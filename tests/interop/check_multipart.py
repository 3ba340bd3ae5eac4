#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads `curl -D - URL` output (response head, then body) from stdin and
checks it is an MJPEG multipart/x-mixed-replace stream: status 200, the
multipart content type with a boundary, and at least --parts complete parts,
each an image/jpeg whose Content-Length bytes are a JPEG of the expected size
and are followed by the next delimiter. Exits 0 as soon as that many parts
were seen (the stream itself never ends); 1 with a reason otherwise."""

import argparse
import struct
import sys

# Markers that start a JPEG frame header (SOF0..SOF15 without DHT, JPG, DAC).
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
MAX_HEADER_LINES = 100


class StreamError(Exception):
    pass


def read_header_block(stream):
    """Lines up to the blank line, without line ends."""
    lines = []
    for _ in range(MAX_HEADER_LINES):
        line = stream.readline()
        if not line:
            raise StreamError("stream ended inside a header block")
        if not line.endswith(b"\r\n"):
            raise StreamError("header line not ended by CRLF: %r" % line)
        if line == b"\r\n":
            return lines
        lines.append(line[:-2].decode("latin-1"))
    raise StreamError("header block too long")


def parse_headers(lines):
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise StreamError("bad header line %r" % line)
        headers[name.strip().lower()] = value.strip()
    return headers


def read_exactly(stream, size):
    data = stream.read(size)
    if len(data) != size:
        raise StreamError("stream ended after %d of %d bytes" % (len(data), size))
    return data


def expect(stream, wanted):
    got = stream.read(len(wanted))
    if got != wanted:
        raise StreamError("expected %r, got %r" % (wanted, got))


def jpeg_size(jpeg):
    """(width, height) from the JPEG's frame header."""
    if jpeg[:2] != b"\xff\xd8":
        raise StreamError("part does not start with a JPEG SOI marker")
    if jpeg[-2:] != b"\xff\xd9":
        raise StreamError("part does not end with a JPEG EOI marker")
    offset = 2
    while offset + 4 <= len(jpeg):
        if jpeg[offset] != 0xFF:
            raise StreamError("no JPEG marker at offset %d" % offset)
        marker = jpeg[offset + 1]
        if marker == 0xFF:
            offset += 1
            continue
        (length,) = struct.unpack(">H", jpeg[offset + 2:offset + 4])
        if marker in SOF_MARKERS:
            height, width = struct.unpack(">HH", jpeg[offset + 5:offset + 9])
            return width, height
        offset += 2 + length
    raise StreamError("JPEG without a frame header")


def check(stream, parts_wanted, width, height, skip_heads=0):
    # curl -D - with --digest writes the 401 challenge's head (and its body)
    # before the real response: skip whole responses up to the 200.
    for _ in range(skip_heads):
        skipped = parse_headers(read_header_block(stream)[1:])
        read_exactly(stream, int(skipped.get("content-length", "0")))
    head = read_header_block(stream)
    if not head:
        raise StreamError("empty response head")
    status = head[0].split(" ")
    if len(status) < 2 or not status[0].startswith("HTTP/") or status[1] != "200":
        raise StreamError("status line %r, expected 200" % head[0])
    headers = parse_headers(head[1:])
    content_type = headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != "multipart/x-mixed-replace":
        raise StreamError("Content-Type %r is not multipart/x-mixed-replace" % content_type)
    boundary = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary" and value:
            boundary = value.strip('"').encode("latin-1")
    if boundary is None:
        raise StreamError("Content-Type %r has no boundary" % content_type)

    expect(stream, b"--" + boundary + b"\r\n")
    for number in range(1, parts_wanted + 1):
        part = parse_headers(read_header_block(stream))
        if part.get("content-type") != "image/jpeg":
            raise StreamError("part %d has Content-Type %r" % (number, part.get("content-type")))
        if not part.get("content-length", "").isdigit():
            raise StreamError("part %d has no valid Content-Length" % number)
        jpeg = read_exactly(stream, int(part["content-length"]))
        size = jpeg_size(jpeg)
        if size != (width, height):
            raise StreamError("part %d is %dx%d, expected %dx%d" % (number, *size, width, height))
        # Complete only once the delimiter after it has arrived.
        expect(stream, b"\r\n--" + boundary + b"\r\n")
    return boundary.decode("latin-1")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--skip-heads", type=int, default=0,
                        help="responses (head and Content-Length body) before the stream's")
    parser.add_argument("--jpeg-file",
                        help="check this file is one JPEG of the size instead of a stream")
    args = parser.parse_args()
    if args.jpeg_file:
        try:
            with open(args.jpeg_file, "rb") as jpeg:
                size = jpeg_size(jpeg.read())
            if size != (args.width, args.height):
                raise StreamError("%dx%d, expected %dx%d" % (*size, args.width, args.height))
        except (StreamError, OSError) as error:
            print("JPEG check failed: %s" % error, file=sys.stderr)
            return 1
        return 0
    try:
        boundary = check(sys.stdin.buffer, args.parts, args.width, args.height, args.skip_heads)
    except StreamError as error:
        print("multipart check failed: %s" % error, file=sys.stderr)
        return 1
    print("%d complete %dx%d JPEG parts, boundary %s" % (args.parts, args.width, args.height,
                                                         boundary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
