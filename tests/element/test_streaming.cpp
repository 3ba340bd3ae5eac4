// SPDX-License-Identifier: LGPL-2.1-or-later
// The MJPEG stream itself: what viewers receive (libsoup and raw-socket
// clients), byte for byte and in order; multi-memory buffers; the end of the
// stream on EOS; buffers that are not JPEG.
#include <gst/check/gstcheck.h>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "soup_client.h"
#include "stream_checks.h"
#include "stream_client.h"

using namespace test_support;

namespace {

constexpr int kFrames = 8;

// Room for every frame of a test in each viewer's queue: these tests check
// exact delivery, not what a slow viewer skips.
void queue_everything(SinkPipeline &pipeline) {
  g_object_set(pipeline.sink(), "max-queued-frames", 64u, nullptr);
}

std::vector<Bytes> test_frames() {
  std::vector<Bytes> frames = distinct_jpegs(kFrames);
  fail_unless_equals_int(frames.size(), kFrames);
  return frames;
}

void check_part(const StreamPart &part, const Bytes &expected, size_t index) {
  fail_unless(part.body == expected, "part %zu: %zu bytes differ from the %zu pushed", index,
              part.body.size(), expected.size());
  fail_unless_equals_string(part.headers.at("content-type").c_str(), "image/jpeg");
  fail_unless(part.headers.at("content-length") == std::to_string(expected.size()),
              "part %zu: Content-Length %s for %zu bytes", index,
              part.headers.at("content-length").c_str(), expected.size());
  fail_unless(part.headers.count("x-timestamp"), "part %zu has no X-Timestamp", index);
  check_timestamp(part.headers.at("x-timestamp"));
}

}  // namespace

GST_START_TEST(test_soup_client_reads_pushed_frames) {
  const std::vector<Bytes> frames = test_frames();
  SinkPipeline pipeline;
  queue_everything(pipeline);
  fail_unless(pipeline.play());

  SoupStreamReader reader(pipeline.port(), "/stream", kFrames);
  fail_unless(reader.await_head(kAwaitMs), "no response head: %s", reader.error().c_str());
  fail_unless_equals_int(reader.head().status, 200);
  check_stream_headers(reader.head().headers);
  // A viewer gets only frames published once it is attached.
  fail_unless(pipeline.await_num_clients(1));

  for (const Bytes &frame : frames) fail_unless(pipeline.push_jpeg(frame));
  fail_unless(reader.await_done(kAwaitMs), "the reader did not finish");
  fail_unless(reader.error().empty(), "reader: %s", reader.error().c_str());
  const std::vector<Bytes> parts = reader.parts();
  const std::vector<std::string> types = reader.part_content_types();
  fail_unless_equals_int(parts.size(), kFrames);
  for (size_t i = 0; i < parts.size(); i++) {
    fail_unless(parts[i] == frames[i], "part %zu differs from frame %zu", i, i);
    fail_unless_equals_string(types[i].c_str(), "image/jpeg");
  }
}
GST_END_TEST;

GST_START_TEST(test_raw_client_reads_pushed_frames) {
  const std::vector<Bytes> frames = test_frames();
  SinkPipeline pipeline;
  queue_everything(pipeline);
  fail_unless(pipeline.play());

  RawViewer viewer(pipeline.port());
  fail_unless_equals_int(viewer.head().status, 200);
  const std::string boundary = check_stream_headers(viewer.head().headers);
  fail_unless_equals_string(viewer.boundary().c_str(), boundary.c_str());
  fail_unless(pipeline.await_num_clients(1));

  for (const Bytes &frame : frames) fail_unless(pipeline.push_jpeg(frame));
  fail_unless(viewer.await_parts(kFrames), "got %zu parts: %s", viewer.parts().size(),
              viewer.detail().c_str());
  const std::vector<StreamPart> parts = viewer.parts();
  fail_unless_equals_int(parts.size(), kFrames);
  std::string previous_stamp;
  for (size_t i = 0; i < parts.size(); i++) {
    check_part(parts[i], frames[i], i);
    fail_if(parts[i].closing, "part %zu closes the stream", i);
    // Fixed-width micros: string order is time order within one second count.
    const std::string &stamp = parts[i].headers.at("x-timestamp");
    fail_unless(std::atof(stamp.c_str()) >= std::atof(previous_stamp.c_str()),
                "timestamps go back: %s after %s", stamp.c_str(), previous_stamp.c_str());
    previous_stamp = stamp;
  }
  // Counted just after each write returns, so possibly after the bytes arrived.
  fail_unless(await_condition([&] { return pipeline.stat("frames-sent") == kFrames; }),
              "frames-sent %" G_GUINT64_FORMAT, pipeline.stat("frames-sent"));
}
GST_END_TEST;

GST_START_TEST(test_new_viewer_gets_latest_frame_at_once) {
  const std::vector<Bytes> frames = test_frames();
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(frames[0]));
  fail_unless(pipeline.push_jpeg(frames[1]));

  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(viewer.await_parts(1), "no frame at connect: %s", viewer.detail().c_str());
  check_part(viewer.parts()[0], frames[1], 0);

  fail_unless(pipeline.push_jpeg(frames[2]));
  fail_unless(viewer.await_parts(2), "%s", viewer.detail().c_str());
  const std::vector<StreamPart> parts = viewer.parts();
  check_part(parts[1], frames[2], 1);
  fail_unless_equals_int(parts.size(), 2);
}
GST_END_TEST;

GST_START_TEST(test_multi_memory_buffer_served_byte_exact) {
  const std::vector<Bytes> frames = test_frames();
  const Bytes &jpeg = frames[3];
  SinkPipeline pipeline;
  queue_everything(pipeline);
  fail_unless(pipeline.play());
  RawViewer viewer(pipeline.port());
  SoupStreamReader reader(pipeline.port(), "/stream", 3);
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(2));

  // Cut through the SOI marker itself, then in the middle; then in two
  // halves; then the whole frame in one memory.
  GstBuffer *three = buffer_in_memories(jpeg, {1, jpeg.size() / 2});
  fail_unless_equals_int(gst_buffer_n_memory(three), 3);
  fail_unless(pipeline.push_and_await(three, "frames-published"));
  GstBuffer *two = buffer_in_memories(frames[4], {frames[4].size() / 2});
  fail_unless_equals_int(gst_buffer_n_memory(two), 2);
  fail_unless(pipeline.push_and_await(two, "frames-published"));
  fail_unless(pipeline.push_jpeg(frames[5]));

  fail_unless(viewer.await_parts(3), "%s", viewer.detail().c_str());
  const std::vector<StreamPart> parts = viewer.parts();
  check_part(parts[0], jpeg, 0);
  check_part(parts[1], frames[4], 1);
  check_part(parts[2], frames[5], 2);
  fail_unless(reader.await_done(kAwaitMs));
  fail_unless(reader.error().empty(), "%s", reader.error().c_str());
  fail_unless(reader.parts()[0] == jpeg);
  fail_unless(reader.parts()[1] == frames[4]);
  fail_unless_equals_uint64(pipeline.stat("frames-rejected"), 0);
}
GST_END_TEST;

GST_START_TEST(test_eos_closes_every_stream) {
  const std::vector<Bytes> frames = test_frames();
  SinkPipeline pipeline;
  queue_everything(pipeline);
  fail_unless(pipeline.play());
  RawViewer left_viewer(pipeline.port());
  RawViewer right_viewer(pipeline.port());
  fail_unless(left_viewer.streaming() && right_viewer.streaming());
  fail_unless(pipeline.await_num_clients(2));

  for (const Bytes &frame : frames) fail_unless(pipeline.push_jpeg(frame));
  // The fan-out's mailbox holds 8 frames and end markers; eight frames and
  // EOS pushed at once on a busy machine would drop the oldest frame for
  // everyone (frames-overflowed), by design. Here every frame must arrive.
  for (RawViewer *viewer : {&left_viewer, &right_viewer})
    fail_unless(viewer->await_parts(kFrames), "%s", viewer->detail().c_str());
  pipeline.push_eos();

  for (RawViewer *viewer : {&left_viewer, &right_viewer}) {
    fail_unless(viewer->await_end() == StreamEnd::kClosedAfterClose, "%s",
                viewer->detail().c_str());
    const std::vector<StreamPart> parts = viewer->parts();
    // Every frame, then one closing part that repeats the latest frame.
    fail_unless_equals_int(parts.size(), kFrames + 1);
    for (size_t i = 0; i < frames.size(); i++) {
      check_part(parts[i], frames[i], i);
      fail_if(parts[i].closing, "part %zu closes the stream early", i);
    }
    check_part(parts.back(), frames.back(), kFrames);
    fail_unless(parts.back().closing);
  }

  GstMessage *eos = pipeline.await_message(GST_MESSAGE_EOS, kAwaitMs);
  fail_unless(eos != nullptr, "no EOS on the bus");
  gst_message_unref(eos);
  fail_unless(pipeline.await_num_clients(0));
  // The count covers every body byte the viewers received, and only those.
  fail_unless_equals_uint64(pipeline.stat("bytes-served"),
                            left_viewer.body_bytes() + right_viewer.body_bytes());
  guint64 bytes_served = 0;
  g_object_get(pipeline.sink(), "bytes-served", &bytes_served, nullptr);
  fail_unless_equals_uint64(bytes_served, left_viewer.body_bytes() + right_viewer.body_bytes());
}
GST_END_TEST;

GST_START_TEST(test_eos_before_any_frame) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(1));
  pipeline.push_eos();
  // Just the close delimiter, then the server closes.
  fail_unless(viewer.await_end() == StreamEnd::kClosedAfterClose, "%s", viewer.detail().c_str());
  fail_unless_equals_int(viewer.parts().size(), 0);
  fail_unless_equals_uint64(viewer.body_bytes(), ("--" + viewer.boundary() + "--\r\n").size());
}
GST_END_TEST;

GST_START_TEST(test_non_jpeg_buffers_not_served) {
  const std::vector<Bytes> frames = test_frames();
  SinkPipeline pipeline;
  queue_everything(pipeline);
  fail_unless(pipeline.play());
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(pipeline.await_num_clients(1));

  const Bytes swapped_soi = std::string("\xD8\xFF", 2) + frames[0].substr(2);
  const std::vector<Bytes> first_burst = {"not a jpeg at all", swapped_soi, std::string("\xFF", 1)};
  fail_unless(pipeline.push_jpeg(frames[0]));
  for (const Bytes &garbage : first_burst)
    fail_unless(pipeline.push_and_await(buffer_from_bytes(garbage), "frames-rejected"));
  fail_unless(pipeline.push_jpeg(frames[1]));
  // An empty buffer, then a JPEG's tail without its head.
  fail_unless(pipeline.push_and_await(gst_buffer_new(), "frames-rejected"));
  fail_unless(pipeline.push_and_await(buffer_from_bytes(frames[2].substr(100)), "frames-rejected"));
  fail_unless(pipeline.push_jpeg(frames[2]));

  fail_unless(viewer.await_parts(3), "%s", viewer.detail().c_str());
  const std::vector<StreamPart> parts = viewer.parts();
  // frames[2] came after every bad buffer: a served bad buffer would be
  // among these parts.
  fail_unless_equals_int(parts.size(), 3);
  for (size_t i = 0; i < 3; i++) check_part(parts[i], frames[i], i);

  fail_unless_equals_uint64(pipeline.stat("frames-in"), 8);
  fail_unless_equals_uint64(pipeline.stat("frames-rejected"), 5);
  fail_unless_equals_uint64(pipeline.stat("frames-published"), 3);

  // One warning per run of bad buffers: two runs, two warnings.
  std::vector<GstMessage *> warnings = pipeline.take_messages(GST_MESSAGE_WARNING);
  fail_unless_equals_int(warnings.size(), 2);
  for (GstMessage *warning : warnings) {
    fail_unless(GST_MESSAGE_SRC(warning) == GST_OBJECT(pipeline.sink()));
    GError *error = nullptr;
    gst_message_parse_warning(warning, &error, nullptr);
    fail_unless(g_error_matches(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT), "warning %s",
                error->message);
    g_error_free(error);
    gst_message_unref(warning);
  }
  GstMessage *error = pipeline.await_message(GST_MESSAGE_ERROR, 0);
  fail_unless(error == nullptr, "bad buffers made an error");
}
GST_END_TEST;

static Suite *element_streaming_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-streaming", "streaming",
      {NAMED_TEST(test_soup_client_reads_pushed_frames),
       NAMED_TEST(test_raw_client_reads_pushed_frames),
       NAMED_TEST(test_new_viewer_gets_latest_frame_at_once),
       NAMED_TEST(test_multi_memory_buffer_served_byte_exact),
       NAMED_TEST(test_eos_closes_every_stream), NAMED_TEST(test_eos_before_any_frame),
       NAMED_TEST(test_non_jpeg_buffers_not_served)});
}

GST_CHECK_MAIN(element_streaming);
