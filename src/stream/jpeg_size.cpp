// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/jpeg_size.h"

#include <cstdint>
#include <string>

namespace mjpeghttp {

namespace {

// The headers sit in front of the scan; EXIF and ICC segments can hold them
// back by up to a few segments of 64 KiB each.
constexpr size_t kMaxHeaderBytes = 256 * 1024;

bool is_sof(uint8_t marker) {
  // C0..CF are frame headers, except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

}  // namespace

bool read_jpeg_size(const std::vector<iovec> &chunks, unsigned *width, unsigned *height) {
  std::string head;
  for (const iovec &chunk : chunks) {
    if (head.size() >= kMaxHeaderBytes) break;
    head.append(static_cast<const char *>(chunk.iov_base),
                std::min(chunk.iov_len, kMaxHeaderBytes - head.size()));
  }
  const auto byte = [&head](size_t at) { return static_cast<uint8_t>(head[at]); };
  if (head.size() < 4 || byte(0) != 0xFF || byte(1) != 0xD8) return false;
  size_t at = 2;
  while (at + 4 <= head.size()) {
    if (byte(at) != 0xFF) return false;
    const uint8_t marker = byte(at + 1);
    if (marker == 0xFF) {  // fill byte
      at++;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return false;  // scan or end: no SOF before it
    const size_t length = (size_t{byte(at + 2)} << 8) | byte(at + 3);
    if (length < 2) return false;
    if (is_sof(marker)) {
      // Length, precision, then height and width.
      if (at + 9 > head.size() || length < 7) return false;
      *height = (unsigned{byte(at + 5)} << 8) | byte(at + 6);
      *width = (unsigned{byte(at + 7)} << 8) | byte(at + 8);
      return *width > 0 && *height > 0;
    }
    at += 2 + length;
  }
  return false;
}

}  // namespace mjpeghttp
