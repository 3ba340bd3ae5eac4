// SPDX-License-Identifier: LGPL-2.1-or-later
// find_missing_dht / insert_chunk / standard_dht_segment on hand-made byte
// sequences: where the engine splices the Huffman tables into a JPEG that
// lacks them, on frames in any number of memories, and that odd or broken
// frames are left alone rather than misread.
#include <glib.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stream/jpeg_dht.h"
#include "test_support.h"

using mjpeghttp::find_missing_dht;
using mjpeghttp::insert_chunk;
using mjpeghttp::standard_dht_segment;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int value : values) out.push_back(static_cast<char>(value));
  return out;
}

// Marker segments of a minimal frame; the scan data after SOS is opaque.
const std::string kSoi = bytes({0xFF, 0xD8});
const std::string kApp0 = bytes({0xFF, 0xE0, 0x00, 0x06, 'J', 'F', 'I', 'F'});
const std::string kDqt = bytes({0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01});
const std::string kSof0 = bytes({0xFF, 0xC0, 0x00, 0x05, 0x08, 0x00, 0x10});
const std::string kDht = bytes({0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00});
const std::string kSos = bytes({0xFF, 0xDA, 0x00, 0x04, 0x01, 0x00});
const std::string kScan = bytes({0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56});
const std::string kEoi = bytes({0xFF, 0xD9});

std::vector<iovec> one_chunk(std::string &data) { return {{&data[0], data.size()}}; }

// Every split of `data` into two chunks, and into one chunk per byte, must
// give the same answer as the whole: where the memories of a buffer end
// must not matter.
void assert_missing_at(std::string data, size_t expected) {
  size_t at = 0;
  g_assert_true(find_missing_dht(one_chunk(data), &at));
  g_assert_cmpuint(at, ==, expected);
  for (size_t cut = 1; cut < data.size(); cut++) {
    std::vector<iovec> two = {{&data[0], cut}, {&data[cut], data.size() - cut}};
    at = 0;
    g_assert_true(find_missing_dht(two, &at));
    g_assert_cmpuint(at, ==, expected);
  }
  std::vector<iovec> single_bytes;
  for (size_t i = 0; i < data.size(); i++) single_bytes.push_back({&data[i], 1});
  at = 0;
  g_assert_true(find_missing_dht(single_bytes, &at));
  g_assert_cmpuint(at, ==, expected);
}

void assert_left_alone(std::string data) {
  size_t at = 12345;
  std::vector<iovec> chunks;
  if (!data.empty()) chunks = one_chunk(data);
  g_assert_false(find_missing_dht(chunks, &at));
  g_assert_cmpuint(at, ==, 12345);
  for (size_t cut = 1; cut < data.size(); cut++) {
    std::vector<iovec> two = {{&data[0], cut}, {&data[cut], data.size() - cut}};
    g_assert_false(find_missing_dht(two, &at));
  }
}

std::string flatten(const std::vector<iovec> &chunks) {
  std::string out;
  for (const iovec &chunk : chunks)
    out.append(static_cast<const char *>(chunk.iov_base), chunk.iov_len);
  return out;
}

void test_missing_tables_found_at_sos() {
  const std::string head = kSoi + kApp0 + kDqt + kSof0;
  assert_missing_at(head + kSos + kScan + kEoi, head.size());
}

void test_tables_present() {
  assert_left_alone(kSoi + kApp0 + kDqt + kDht + kSof0 + kSos + kScan + kEoi);
  assert_left_alone(kSoi + kDht + kSos + kScan + kEoi);
}

// Tables that only come after the first scan do not help the first scan.
void test_tables_after_first_scan_only() {
  const std::string head = kSoi + kSof0;
  assert_missing_at(head + kSos + kScan + kDht + kSos + kScan + kEoi, head.size());
}

// Any marker may be preceded by 0xFF fill bytes (T.81 B.1.1.2). The tables
// then go right before the SOS marker itself, after the fill.
void test_fill_bytes() {
  const std::string fill = bytes({0xFF, 0xFF, 0xFF});
  const std::string head = kSoi + fill + kApp0 + fill + kSof0 + bytes({0xFF});
  assert_missing_at(head + kSos + kScan + kEoi, head.size());
  assert_left_alone(kSoi + fill + kDht + fill + kSos + kScan + kEoi);
}

// Markers without a length field (RSTn, TEM) before the scan are stepped
// over as two bytes, not read as a segment length.
void test_markers_without_length() {
  const std::string standalone = bytes({0xFF, 0xD0, 0xFF, 0x01, 0xFF, 0xD7});
  const std::string head = kSoi + standalone + kSof0;
  assert_missing_at(head + kSos + kScan + kEoi, head.size());
  assert_left_alone(kSoi + standalone + kDht + kSos + kScan);
}

void test_truncated_frames() {
  assert_left_alone("");
  assert_left_alone(bytes({0xFF}));
  assert_left_alone(kSoi);
  assert_left_alone(kSoi + bytes({0xFF}));
  assert_left_alone(kSoi + bytes({0xFF, 0xE0}));
  assert_left_alone(kSoi + bytes({0xFF, 0xE0, 0x00}));
  // A segment whose length runs past the end.
  assert_left_alone(kSoi + bytes({0xFF, 0xE0, 0x00, 0x10, 'J', 'F'}));
  // Cut in the middle of the segment before SOS.
  const std::string whole = kSoi + kApp0 + kSof0 + kSos + kScan;
  const size_t sof_end = kSoi.size() + kApp0.size() + kSof0.size();
  for (size_t length = 4; length < sof_end; length++) assert_left_alone(whole.substr(0, length));
}

void test_no_sos() {
  assert_left_alone(kSoi + kApp0 + kDqt + kSof0);
  assert_left_alone(kSoi + kApp0 + kDqt + kSof0 + kEoi);
}

void test_not_a_walkable_jpeg() {
  // No SOI.
  assert_left_alone(kApp0 + kSos + kScan);
  // Bytes where a marker should be.
  assert_left_alone(kSoi + bytes({0x00, 0x11, 0x22, 0x33}) + kSos + kScan);
  // A segment length below its own two bytes.
  assert_left_alone(kSoi + bytes({0xFF, 0xE0, 0x00, 0x01}) + kSos + kScan);
  assert_left_alone(kSoi + bytes({0xFF, 0xE0, 0x00, 0x00}) + kSos + kScan);
}

// A length field's 0xFF bytes inside a segment are data, not markers.
void test_marker_bytes_inside_segments() {
  const std::string app = bytes({0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xDA, 0xFF, 0xC4, 0xFF, 0xD8});
  const std::string head = kSoi + app + kSof0;
  assert_missing_at(head + kSos + kScan, head.size());
}

// insert_chunk: the bytes come out as a string insert would give them, the
// original chunks are reused (no copy), and no empty iovec is made.
void test_insert_chunk_positions() {
  std::string a = "abcd", b = "efg", c = "hijkl";
  const std::string whole = a + b + c;
  std::string extra_bytes = "XY";
  const iovec extra{&extra_bytes[0], extra_bytes.size()};
  const std::vector<iovec> chunks = {{&a[0], a.size()}, {&b[0], b.size()}, {&c[0], c.size()}};
  for (size_t offset = 0; offset <= whole.size(); offset++) {
    const std::vector<iovec> out = insert_chunk(chunks, offset, extra);
    std::string expected = whole;
    expected.insert(offset, extra_bytes);
    assert_text_eq(flatten(out), expected);
    size_t extra_count = 0;
    for (const iovec &chunk : out) {
      g_assert_cmpuint(chunk.iov_len, >, 0);
      if (chunk.iov_base == extra.iov_base) extra_count++;
      // Every other piece points into the caller's own memories.
      const char *base = static_cast<const char *>(chunk.iov_base);
      g_assert_true(base == extra_bytes.data() ||
                    (base >= a.data() && base < a.data() + a.size()) ||
                    (base >= b.data() && base < b.data() + b.size()) ||
                    (base >= c.data() && base < c.data() + c.size()));
    }
    g_assert_cmpuint(extra_count, ==, 1);
    // At a chunk edge nothing is split; inside a chunk, one chunk is.
    const bool at_edge = offset == 0 || offset == 4 || offset == 7 || offset == whole.size();
    g_assert_cmpuint(out.size(), ==, at_edge ? 4 : 5);
  }
}

void test_insert_chunk_into_nothing() {
  std::string extra_bytes = "Z";
  const std::vector<iovec> out = insert_chunk({}, 0, {&extra_bytes[0], 1});
  g_assert_cmpuint(out.size(), ==, 1);
  assert_text_eq(flatten(out), "Z");
}

// The whole splice as the engine does it, over every two-chunk split of a
// frame: tables land immediately before SOS, all else unchanged.
void test_splice_over_every_split() {
  std::string frame = kSoi + kApp0 + kDqt + kSof0 + kSos + kScan + kEoi;
  const size_t sos = kSoi.size() + kApp0.size() + kDqt.size() + kSof0.size();
  const iovec dht = standard_dht_segment();
  const std::string dht_bytes(static_cast<const char *>(dht.iov_base), dht.iov_len);
  std::string expected = frame;
  expected.insert(sos, dht_bytes);
  for (size_t cut = 1; cut < frame.size(); cut++) {
    std::vector<iovec> two = {{&frame[0], cut}, {&frame[cut], frame.size() - cut}};
    size_t at = 0;
    g_assert_true(find_missing_dht(two, &at));
    assert_text_eq(flatten(insert_chunk(two, at, dht)), expected);
  }
}

// The segment is what T.81 Annex K.3 specifies: one DHT segment whose length
// covers four tables, DC/AC for luminance and chrominance, with the Annex's
// code counts (12 DC symbols, 162 AC symbols each).
void test_standard_segment_shape() {
  const iovec dht = standard_dht_segment();
  const auto *data = static_cast<const uint8_t *>(dht.iov_base);
  g_assert_cmpuint(dht.iov_len, ==, 2 + 0x1A2);
  g_assert_cmpuint(data[0], ==, 0xFF);
  g_assert_cmpuint(data[1], ==, 0xC4);
  g_assert_cmpuint((data[2] << 8) | data[3], ==, dht.iov_len - 2);
  const uint8_t classes[] = {0x00, 0x10, 0x01, 0x11};
  const size_t symbols[] = {12, 162, 12, 162};
  // First code counts of each table (T.81 Tables K.3 to K.6, "BITS").
  const uint8_t first_counts[][3] = {{0, 1, 5}, {0, 2, 1}, {0, 3, 1}, {0, 2, 1}};
  size_t offset = 4;
  for (size_t table = 0; table < 4; table++) {
    g_assert_cmpuint(offset + 17, <=, dht.iov_len);
    g_assert_cmpuint(data[offset], ==, classes[table]);
    size_t count = 0;
    for (size_t i = 1; i <= 16; i++) count += data[offset + i];
    g_assert_cmpuint(count, ==, symbols[table]);
    for (size_t i = 0; i < 3; i++)
      g_assert_cmpuint(data[offset + 1 + i], ==, first_counts[table][i]);
    offset += 17 + count;
  }
  g_assert_cmpuint(offset, ==, dht.iov_len);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/jpeg-dht/missing-found-at-sos", test_missing_tables_found_at_sos);
  g_test_add_func("/jpeg-dht/tables-present", test_tables_present);
  g_test_add_func("/jpeg-dht/tables-after-first-scan-only", test_tables_after_first_scan_only);
  g_test_add_func("/jpeg-dht/fill-bytes", test_fill_bytes);
  g_test_add_func("/jpeg-dht/markers-without-length", test_markers_without_length);
  g_test_add_func("/jpeg-dht/truncated", test_truncated_frames);
  g_test_add_func("/jpeg-dht/no-sos", test_no_sos);
  g_test_add_func("/jpeg-dht/not-walkable", test_not_a_walkable_jpeg);
  g_test_add_func("/jpeg-dht/marker-bytes-inside-segments", test_marker_bytes_inside_segments);
  g_test_add_func("/jpeg-dht/insert-chunk-positions", test_insert_chunk_positions);
  g_test_add_func("/jpeg-dht/insert-chunk-into-nothing", test_insert_chunk_into_nothing);
  g_test_add_func("/jpeg-dht/splice-over-every-split", test_splice_over_every_split);
  g_test_add_func("/jpeg-dht/standard-segment-shape", test_standard_segment_shape);
  return g_test_run();
}
