// SPDX-License-Identifier: LGPL-2.1-or-later
// The tests' own reading of a JPEG's marker segments, independent of the
// element's (src/jpeg_dht.cpp), so it can judge what the element served:
// where the scan starts, which DHT segments there are, which Huffman tables
// they hold, and a copy of a frame with its tables taken out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "jpeg_frames.h"

namespace viewer_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::Bytes;

constexpr uint8_t kMarkerDht = 0xC4;
constexpr uint8_t kMarkerSos = 0xDA;

struct JpegSegment {
  uint8_t marker = 0;
  size_t offset = 0;  // of the 0xFF that starts the marker
  size_t size = 0;    // marker and length field included
};

// The segments from the one after SOI up to and including the first SOS.
// Empty when the bytes are not a JPEG this walk understands (the frames the
// tests use come from jpegenc: no fill bytes, no markers without a length).
std::vector<JpegSegment> segments_to_scan(const Bytes &jpeg);

// Offset of the first SOS marker, or Bytes::npos.
size_t scan_offset(const Bytes &jpeg);

// The DHT segments before the first scan.
std::vector<JpegSegment> dht_segments(const Bytes &jpeg);

// `jpeg` without any DHT segment before its first scan.
Bytes strip_dht(const Bytes &jpeg);

// The Huffman tables a DHT segment defines, keyed by their class/id byte
// (0x00 DC luminance, 0x10 AC luminance, 0x01, 0x11 chrominance), each the
// 16 code counts followed by the symbols. Empty if the segment is malformed.
std::map<uint8_t, Bytes> huffman_tables(const Bytes &segment);

// The tables of every DHT segment of `jpeg` together.
std::map<uint8_t, Bytes> huffman_tables_of(const Bytes &jpeg);

}  // namespace viewer_test
