// SPDX-License-Identifier: LGPL-2.1-or-later
#include "jpeg_stamp.h"

#include <cstdlib>

namespace test_support {

namespace {

const std::string kStampPrefix = "element-test frame ";
// SOI (2 bytes), then the COM marker FF FE and its 2 length bytes.
constexpr size_t kTextAt = 6;

}  // namespace

std::string stamp_jpeg(const std::string &jpeg, uint64_t stamp) {
  const std::string text = kStampPrefix + std::to_string(stamp);
  // A segment's big-endian length counts itself.
  const size_t length = text.size() + 2;
  std::string segment = "\xFF\xFE";
  segment.push_back(static_cast<char>((length >> 8) & 0xFF));
  segment.push_back(static_cast<char>(length & 0xFF));
  segment += text;
  return jpeg.substr(0, 2) + segment + jpeg.substr(2);
}

bool read_stamp(const std::string &jpeg, uint64_t *stamp) {
  if (jpeg.size() < kTextAt + kStampPrefix.size() || static_cast<unsigned char>(jpeg[2]) != 0xFF ||
      static_cast<unsigned char>(jpeg[3]) != 0xFE ||
      jpeg.compare(kTextAt, kStampPrefix.size(), kStampPrefix) != 0)
    return false;
  *stamp = std::strtoull(jpeg.c_str() + kTextAt + kStampPrefix.size(), nullptr, 10);
  return true;
}

}  // namespace test_support
