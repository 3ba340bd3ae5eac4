#include "multipart.h"

#include <cinttypes>
#include <cstdio>

namespace mjpeghttp {

MultipartFormat::MultipartFormat(std::string boundary)
    : boundary_(std::move(boundary)),
      opening_("--" + boundary_ + "\r\n"),
      trailer_("\r\n--" + boundary_ + "\r\n"),
      closing_trailer_("\r\n--" + boundary_ + "--\r\n"),
      bare_closing_("--" + boundary_ + "--\r\n") {}

std::string MultipartFormat::content_type() const {
  return "multipart/x-mixed-replace;boundary=" + boundary_;
}

std::string MultipartFormat::part_header(size_t content_length, int64_t timestamp_us) {
  char buf[160];
  // Split by hand: "%.6f" on a double would round away microseconds of a
  // present-day epoch time.
  int64_t seconds = timestamp_us / 1000000;
  int64_t micros = timestamp_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  int n = snprintf(buf, sizeof buf,
                   "Content-Type: image/jpeg\r\n"
                   "Content-Length: %zu\r\n"
                   "X-Timestamp: %" PRId64 ".%06" PRId64 "\r\n"
                   "\r\n",
                   content_length, seconds, micros);
  return std::string(buf, static_cast<size_t>(n));
}

bool looks_like_jpeg(const uint8_t *data, size_t size) {
  return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

}  // namespace mjpeghttp
