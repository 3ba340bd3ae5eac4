// SPDX-License-Identifier: LGPL-2.1-or-later
// insert-dht: a JPEG without Huffman tables (as many USB cameras send;
// browsers, Safari above all, refuse such frames) is served with the
// standard tables inserted right before its scan, everything else byte for
// byte; frames with tables, and every frame with insert-dht=false, are
// served as pushed. On the stream and on /snapshot, from one memory or many.
#include <gst/check/gstcheck.h>

#include "check_suite.h"
#include "jpeg_segments.h"
#include "sink_pipeline.h"
#include "soup_client.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

namespace {

struct Frames {
  Frames() {
    original = encode_jpegs(1, "smpte").at(0);
    fail_unless(dht_segments(original).size() >= 1, "jpegenc wrote no DHT segment");
    // jpegenc writes libjpeg's default tables: those of T.81 Annex K.3,
    // which are what the element must insert.
    standard_tables = huffman_tables_of(original);
    fail_unless_equals_int(standard_tables.size(), 4);
    stripped = strip_dht(original);
    fail_unless(dht_segments(stripped).empty());
    fail_unless(scan_offset(stripped) != Bytes::npos);
  }
  Bytes original;
  Bytes stripped;
  std::map<uint8_t, Bytes> standard_tables;
};

// `served` must be `stripped` with one DHT segment of the standard tables
// inserted immediately before SOS.
void check_tables_inserted(const Bytes &served, const Frames &frames, const char *where) {
  const std::vector<JpegSegment> dht = dht_segments(served);
  fail_unless_equals_int(dht.size(), 1);
  const size_t sos = scan_offset(served);
  fail_unless(dht[0].offset + dht[0].size == sos, "%s: the DHT segment is not right before SOS",
              where);
  const Bytes segment = served.substr(dht[0].offset, dht[0].size);
  fail_unless(huffman_tables(segment) == frames.standard_tables,
              "%s: the inserted tables are not the standard ones", where);
  const Bytes without = served.substr(0, dht[0].offset) + served.substr(sos);
  fail_unless(without == frames.stripped, "%s: bytes other than the DHT segment changed", where);
}

struct Served {
  StreamPart part;  // from /stream
  SoupReply snapshot;
};

// Pushes `buffer` to a fresh pipeline with `insert_dht` and reads it back
// from a stream viewer and from /snapshot.
Served serve(GstBuffer *buffer, bool insert_dht) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "insert-dht", insert_dht, nullptr);
  fail_unless(pipeline.play());
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(pipeline.push_and_await(buffer, "frames-published"));
  fail_unless(viewer.await_parts(1), "%s", viewer.detail().c_str());
  Served served;
  served.part = viewer.parts().at(0);
  served.snapshot = soup_fetch(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(served.snapshot.status, 200);
  // Content-Length counts what is served, tables included.
  fail_unless(served.part.headers.at("content-length") == std::to_string(served.part.body.size()));
  fail_unless(
      served.snapshot.header("Content-Length") == std::to_string(served.snapshot.body.size()),
      "snapshot Content-Length %s for %zu bytes", served.snapshot.header("Content-Length").c_str(),
      served.snapshot.body.size());
  return served;
}

}  // namespace

GST_START_TEST(test_tables_inserted_into_stripped_frame) {
  const Frames frames;
  const Served served = serve(buffer_from_bytes(frames.stripped), true);
  check_tables_inserted(served.part.body, frames, "stream");
  check_tables_inserted(served.snapshot.body, frames, "snapshot");
  fail_unless_equals_int(served.part.body.size(),
                         frames.stripped.size() + dht_segments(served.part.body)[0].size);

  const Decoded decoded = decode_with_jpegdec(served.part.body);
  fail_unless(decoded.ok, "jpegdec: %s", decoded.error.c_str());
  fail_unless_equals_int(decoded.width, 160);
  fail_unless_equals_int(decoded.height, 120);
}
GST_END_TEST;

// `jpeg` reaches the stream and the snapshot byte for byte.
static void check_served_as_is(const Bytes &jpeg, bool insert_dht, const char *why) {
  const Served served = serve(buffer_from_bytes(jpeg), insert_dht);
  fail_unless(served.part.body == jpeg, "%s: the frame was changed", why);
  fail_unless(served.snapshot.body == jpeg, "%s: the snapshot was changed", why);
}

GST_START_TEST(test_frame_with_tables_unchanged) {
  check_served_as_is(Frames().original, true, "a frame with tables");
}
GST_END_TEST;

GST_START_TEST(test_disabled_serves_stripped_frame_as_is) {
  check_served_as_is(Frames().stripped, false, "insert-dht=false");
}
GST_END_TEST;

GST_START_TEST(test_default_is_on) {
  SinkPipeline pipeline;
  gboolean insert_dht = FALSE;
  g_object_get(pipeline.sink(), "insert-dht", &insert_dht, nullptr);
  fail_unless(insert_dht);
}
GST_END_TEST;

// The frame in several memories, cut at and around the SOS marker (the
// tables go where a memory ends, inside one, or between the marker's two
// bytes) and inside earlier segments.
GST_START_TEST(test_multi_memory_frames) {
  const Frames frames;
  const size_t sos = scan_offset(frames.stripped);
  const std::vector<std::vector<size_t>> cut_sets = {
      {sos + 1}, {sos}, {sos + 2}, {sos - 1}, {1, sos + 1}, {3, 7, sos - 3, sos + 1, sos + 5},
  };
  for (const std::vector<size_t> &cuts : cut_sets) {
    GstBuffer *buffer = gst_buffer_new();
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(frames.stripped.size());
    for (size_t end : ends) {
      GstBuffer *piece = buffer_from_bytes(frames.stripped.substr(start, end - start));
      gst_buffer_append_memory(buffer, gst_buffer_get_memory(piece, 0));
      gst_buffer_unref(piece);
      start = end;
    }
    fail_unless_equals_int(gst_buffer_n_memory(buffer), cuts.size() + 1);
    const Served served = serve(buffer, true);
    check_tables_inserted(served.part.body, frames, "multi-memory stream");
    check_tables_inserted(served.snapshot.body, frames, "multi-memory snapshot");
  }
}
GST_END_TEST;

static Suite *viewer_insert_dht_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-insert-dht", "insert-dht",
      {NAMED_TEST(test_tables_inserted_into_stripped_frame),
       NAMED_TEST(test_frame_with_tables_unchanged),
       NAMED_TEST(test_disabled_serves_stripped_frame_as_is), NAMED_TEST(test_default_is_on),
       NAMED_TEST(test_multi_memory_frames)});
}

GST_CHECK_MAIN(viewer_insert_dht);
