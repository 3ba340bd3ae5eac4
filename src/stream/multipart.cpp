// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/multipart.h"

#include <cinttypes>
#include <cstdio>

namespace mjpeghttp {

namespace {
constexpr const char *kAdvanceHeaders = "Content-Type: image/jpeg\r\n\r\n";
}

MultipartFormat::MultipartFormat(std::string boundary, bool headers_in_advance)
    : boundary_(std::move(boundary)),
      headers_in_advance_(headers_in_advance),
      opening_("--" + boundary_ + "\r\n" + (headers_in_advance ? kAdvanceHeaders : "")),
      trailer_("\r\n--" + boundary_ + "\r\n" + (headers_in_advance ? kAdvanceHeaders : "")),
      closing_trailer_("\r\n--" + boundary_ + "--\r\n"),
      bare_closing_("--" + boundary_ + "--\r\n") {}

std::string MultipartFormat::content_type() const {
  return "multipart/x-mixed-replace;boundary=" + boundary_;
}

std::string format_timestamp(int64_t timestamp_us) {
  // Sign and magnitude printed apart: "%.6f" on a double would round away
  // microseconds of a present-day epoch time, and flooring a negative value
  // would print -1 us as "-1.999999". The magnitude is unsigned so that
  // INT64_MIN has one.
  const bool negative = timestamp_us < 0;
  const uint64_t magnitude = negative ? uint64_t{0} - static_cast<uint64_t>(timestamp_us)
                                      : static_cast<uint64_t>(timestamp_us);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06" PRIu64, negative ? "-" : "",
                   magnitude / 1000000, magnitude % 1000000);
  return std::string(buf, static_cast<size_t>(n));
}

std::string MultipartFormat::part_header(size_t content_length, int64_t timestamp_us) {
  return "Content-Type: image/jpeg\r\nContent-Length: " + std::to_string(content_length) +
         "\r\nX-Timestamp: " + format_timestamp(timestamp_us) + "\r\n\r\n";
}

bool looks_like_jpeg(const uint8_t *data, size_t size) {
  return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

}  // namespace mjpeghttp
