// SPDX-License-Identifier: LGPL-2.1-or-later
#include "jpeg_segments.h"

namespace viewer_test {

namespace {

uint8_t byte_at(const Bytes &bytes, size_t offset) { return static_cast<uint8_t>(bytes[offset]); }

}  // namespace

std::vector<JpegSegment> segments_to_scan(const Bytes &jpeg) {
  std::vector<JpegSegment> segments;
  if (jpeg.size() < 4 || byte_at(jpeg, 0) != 0xFF || byte_at(jpeg, 1) != 0xD8) return {};
  size_t offset = 2;
  while (offset + 4 <= jpeg.size()) {
    if (byte_at(jpeg, offset) != 0xFF) return {};
    JpegSegment segment;
    segment.marker = byte_at(jpeg, offset + 1);
    segment.offset = offset;
    segment.size =
        2 + ((static_cast<size_t>(byte_at(jpeg, offset + 2)) << 8) | byte_at(jpeg, offset + 3));
    if (segment.size < 4 || offset + segment.size > jpeg.size()) return {};
    segments.push_back(segment);
    if (segment.marker == kMarkerSos) return segments;
    offset += segment.size;
  }
  return {};
}

size_t scan_offset(const Bytes &jpeg) {
  const std::vector<JpegSegment> segments = segments_to_scan(jpeg);
  return segments.empty() ? Bytes::npos : segments.back().offset;
}

std::vector<JpegSegment> dht_segments(const Bytes &jpeg) {
  std::vector<JpegSegment> found;
  for (const JpegSegment &segment : segments_to_scan(jpeg))
    if (segment.marker == kMarkerDht) found.push_back(segment);
  return found;
}

Bytes strip_dht(const Bytes &jpeg) {
  Bytes stripped = jpeg;
  const std::vector<JpegSegment> found = dht_segments(jpeg);
  // From the last, so earlier offsets stay valid.
  for (auto it = found.rbegin(); it != found.rend(); ++it) stripped.erase(it->offset, it->size);
  return stripped;
}

std::map<uint8_t, Bytes> huffman_tables(const Bytes &segment) {
  std::map<uint8_t, Bytes> tables;
  if (segment.size() < 4 || byte_at(segment, 0) != 0xFF || byte_at(segment, 1) != kMarkerDht)
    return {};
  const size_t end = 2 + ((static_cast<size_t>(byte_at(segment, 2)) << 8) | byte_at(segment, 3));
  if (end != segment.size()) return {};
  size_t offset = 4;
  while (offset < end) {
    // Class/id byte, 16 counts of codes per length, then that many symbols.
    if (offset + 17 > end) return {};
    size_t symbols = 0;
    for (size_t i = 1; i <= 16; i++) symbols += byte_at(segment, offset + i);
    if (offset + 17 + symbols > end) return {};
    tables[byte_at(segment, offset)] = segment.substr(offset + 1, 16 + symbols);
    offset += 17 + symbols;
  }
  return tables;
}

std::map<uint8_t, Bytes> huffman_tables_of(const Bytes &jpeg) {
  std::map<uint8_t, Bytes> tables;
  for (const JpegSegment &segment : dht_segments(jpeg)) {
    const std::map<uint8_t, Bytes> some = huffman_tables(jpeg.substr(segment.offset, segment.size));
    if (some.empty()) return {};
    tables.insert(some.begin(), some.end());
  }
  return tables;
}

}  // namespace viewer_test
