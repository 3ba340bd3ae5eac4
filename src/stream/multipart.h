// SPDX-License-Identifier: LGPL-2.1-or-later
// Wire format of a multipart/x-mixed-replace MJPEG stream. Pure functions of
// the boundary; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "stream/frame.h"

namespace mjpeghttp {

class MultipartFormat {
 public:
  // With `headers_in_advance`, each part's headers go out right after the
  // previous JPEG instead of with their own: Chrome shows a part only once
  // the next part begins, so this makes it show each frame as it arrives.
  // Such headers cannot carry Content-Length or X-Timestamp (both belong to
  // a frame that does not exist yet): parsers find the end by the boundary.
  explicit MultipartFormat(std::string boundary, bool headers_in_advance = false);

  bool headers_in_advance() const { return headers_in_advance_; }

  const std::string &boundary() const { return boundary_; }
  // Value of the response's Content-Type header.
  std::string content_type() const;
  // Sent once, before a connection's first part (and its headers, when
  // they go in advance).
  const std::string &opening() const { return opening_; }
  // Sent right after every JPEG: CRLF and the next boundary line. Firefox
  // only shows a part once the line after its boundary arrives, so the
  // boundary must follow the frame instead of preceding the next one.
  const std::string &trailer() const { return trailer_; }
  // Ends the body after a last part: CRLF and the close delimiter.
  const std::string &closing_trailer() const { return closing_trailer_; }
  // Ends a body in which no part was sent.
  const std::string &bare_closing() const { return bare_closing_; }

  // Headers of one part, up to and including the blank line.
  static std::string part_header(size_t content_length, int64_t timestamp_us);

 private:
  std::string boundary_;
  bool headers_in_advance_;
  std::string opening_;
  std::string trailer_;
  std::string closing_trailer_;
  std::string bare_closing_;
};

// "<seconds>.<microseconds>" of a time in microseconds, as in X-Timestamp.
std::string format_timestamp(int64_t timestamp_us);

// True when the bytes start with a JPEG start-of-image marker.
bool looks_like_jpeg(const uint8_t *data, size_t size);

}  // namespace mjpeghttp
