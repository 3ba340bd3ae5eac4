// SPDX-License-Identifier: LGPL-2.1-or-later
// idle-resend: while the source sends nothing, each viewer gets the latest
// frame again every idle-resend ms (Chrome shows a part only once the next
// one begins, so without this it would show the frame before the latest
// until the source resumes). 0 turns it off; frames flowing never trigger
// it; and a viewer that leaves while the source is idle is noticed either way.
#include <gst/check/gstcheck.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

namespace {

constexpr guint kResendMs = 300;

struct IdleStream {
  explicit IdleStream(guint idle_resend_ms) {
    // source-timeout stays off: a paused source, not a lost one.
    g_object_set(pipeline.sink(), "idle-resend", idle_resend_ms, "max-queued-frames", 64u, nullptr);
    fail_unless(pipeline.play());
    fail_unless(pipeline.push_jpeg(frame));
  }
  SinkPipeline pipeline;
  const Bytes frame = distinct_jpegs(1).at(0);
};

}  // namespace

GST_START_TEST(test_default_is_one_second) {
  // A bare element: the test pipeline turns idle-resend off.
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", nullptr);
  fail_unless(sink != nullptr);
  gst_object_ref_sink(sink);
  guint idle_resend = 0;
  g_object_get(sink, "idle-resend", &idle_resend, nullptr);
  gst_object_unref(sink);
  fail_unless_equals_int(idle_resend, 1000);
}
GST_END_TEST;

GST_START_TEST(test_latest_frame_resent_while_idle) {
  IdleStream stream(kResendMs);
  RawViewer viewer(stream.pipeline.port());
  fail_unless(viewer.streaming());
  const std::vector<Arrival> opening = record_arrivals(viewer, 0, 1, kAwaitMs);
  fail_unless_equals_int(opening.size(), 1);
  // Over a bounded window, the repeats come one idle period apart.
  constexpr size_t kRepeats = 5;
  const std::vector<Arrival> repeats = record_arrivals(viewer, 1, kRepeats, 5000);
  fail_unless_equals_int(repeats.size(), kRepeats);
  std::vector<gint64> gaps_ms;
  gint64 previous = opening[0].monotonic_us;
  for (const Arrival &arrival : repeats) {
    gaps_ms.push_back((arrival.monotonic_us - previous) / 1000);
    previous = arrival.monotonic_us;
  }
  // Gaps are measured where the parts arrive: on a loaded machine one part
  // can arrive late, which makes its gap longer and the next one shorter.
  // The median of five is what the period shows through such delays: a
  // resend loop that ignored the period (every few milliseconds, or at the
  // 1000 ms default) is far outside these bounds.
  std::string gaps_text;
  for (gint64 gap : gaps_ms) gaps_text += std::to_string(gap) + " ";
  std::vector<gint64> sorted = gaps_ms;
  std::sort(sorted.begin(), sorted.end());
  const gint64 median_ms = sorted[sorted.size() / 2];
  fail_unless(median_ms >= kResendMs / 2 && median_ms <= kResendMs * 3 / 2,
              "repeats %sms apart (median %" G_GINT64_FORMAT " ms), idle-resend %u",
              gaps_text.c_str(), median_ms, kResendMs);
  // Each repeat is the latest frame itself, headers and all: same bytes,
  // same X-Timestamp (the frame's time, not the resend's).
  const std::vector<StreamPart> parts = viewer.parts();
  for (size_t i = 0; i <= kRepeats; i++) {
    fail_unless(parts[i].body == stream.frame, "part %zu is not the latest frame", i);
    fail_unless(parts[i].headers == parts[0].headers, "part %zu has other headers", i);
  }
  fail_unless_equals_int(stream.pipeline.stat("frames-published"), 1);
}
GST_END_TEST;

// With idle-resend=0 the viewer gets the latest frame once on connecting and
// then nothing while the source is idle.
GST_START_TEST(test_zero_sends_nothing_while_idle) {
  IdleStream stream(0);
  RawViewer viewer(stream.pipeline.port());
  fail_unless(viewer.streaming());
  fail_unless(viewer.await_parts(1));
  const uint64_t bytes_after_first = viewer.body_bytes();
  // Ten default idle periods' worth of 300 ms would have produced repeats.
  fail_if(viewer.await_parts(2, 2500), "a part arrived with idle-resend=0");
  fail_unless_equals_int(viewer.parts().size(), 1);
  fail_unless_equals_int(viewer.body_bytes(), bytes_after_first);
  fail_unless_equals_int(stream.pipeline.num_clients(), 1);
}
GST_END_TEST;

// Frames every 100 ms with idle-resend at 300: the source is never idle, so
// the viewer gets exactly the frames pushed, none twice.
GST_START_TEST(test_no_resend_while_frames_flow) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "idle-resend", kResendMs, "max-queued-frames", 64u, nullptr);
  fail_unless(pipeline.play());
  const std::vector<Bytes> frames = distinct_jpegs(12);
  fail_unless_equals_int(frames.size(), 12);
  fail_unless(pipeline.push_jpeg(frames[0]));
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.await_parts(1));
  // The source's own pace, not a wait for a result.
  gint64 next_push = g_get_monotonic_time();
  for (size_t i = 1; i < frames.size(); i++) {
    next_push += 100 * 1000;
    const gint64 now = g_get_monotonic_time();
    if (next_push > now) g_usleep(static_cast<gulong>(next_push - now));
    fail_unless(pipeline.push_jpeg(frames[i]));
  }
  fail_unless(viewer.await_parts(frames.size()));
  const std::vector<StreamPart> parts = viewer.parts();
  for (size_t i = 0; i < frames.size(); i++)
    fail_unless(parts[i].body == frames[i], "part %zu is not frame %zu", i, i);
}
GST_END_TEST;

// A viewer capped at 1 fps is sent a frame a second from a source that sends
// fourteen: it is not idle, so it is never sent a frame beyond its cap (a
// resend) though nothing is written to it for longer than idle-resend.
GST_START_TEST(test_no_resend_to_a_capped_viewer) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "idle-resend", kResendMs, "max-queued-frames", 64u, nullptr);
  fail_unless(pipeline.play());
  const Bytes picture = distinct_jpegs(1).at(0);
  fail_unless(pipeline.push_jpeg(picture));
  RawViewer viewer(pipeline.port(), "/stream?fps=1");
  fail_unless(viewer.await_parts(1));
  // The source's own pace, not a wait for a result: 2.5 s of frames, 70 ms
  // apart so that idle-resend's period never ends just as a frame comes.
  constexpr unsigned kFrames = 36;
  gint64 next_push = g_get_monotonic_time();
  for (unsigned i = 1; i <= kFrames; i++) {
    next_push += 70 * 1000;
    const gint64 now = g_get_monotonic_time();
    if (next_push > now) g_usleep(static_cast<gulong>(next_push - now));
    fail_unless(pipeline.push_jpeg(picture));
  }
  fail_unless(viewer.await_parts(3), "%s", viewer.detail().c_str());
  // By the frames' own times (X-Timestamp), the cap lets one through a
  // second, give or take a quarter of that at most; a resend after 300 ms
  // idle would be a part well under that after the one before.
  const std::vector<StreamPart> parts = viewer.parts();
  for (size_t i = 1; i < parts.size(); i++) {
    const gint64 gap_ms = (part_timestamp_us(parts[i]) - part_timestamp_us(parts[i - 1])) / 1000;
    fail_unless(gap_ms >= 700, "part %zu came %" G_GINT64_FORMAT " ms of frame time after part %zu",
                i, gap_ms, i - 1);
  }
}
GST_END_TEST;

namespace {

// A viewer that hangs up while no frame comes is seen to leave: num-clients
// drops without a frame to fail a write on.
void check_leaving_viewer_noticed(guint idle_resend_ms, bool close_with_unread_data) {
  IdleStream stream(idle_resend_ms);
  if (close_with_unread_data) {
    // The part it never read makes the close a reset rather than a FIN.
    auto connection = std::make_unique<RawSocket>(stream.pipeline.port());
    fail_unless(connection->ok());
    fail_unless(connection->send_all("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    HttpHead head;
    fail_unless(connection->read_head(&head));
    fail_unless_equals_int(head.status, 200);
    fail_unless(stream.pipeline.await_num_clients(1));
    fail_unless(await_condition([&] { return stream.pipeline.stat("frames-sent") >= 1; }));
    connection.reset();
  } else {
    RawViewer viewer(stream.pipeline.port());
    fail_unless(viewer.await_parts(1));
    fail_unless(stream.pipeline.await_num_clients(1));
    viewer.leave();
  }
  fail_unless(stream.pipeline.await_num_clients(0),
              "idle-resend=%u: a viewer that left is still counted", idle_resend_ms);
}

}  // namespace

GST_START_TEST(test_leaving_viewer_noticed_without_resend) {
  check_leaving_viewer_noticed(0, false);
  check_leaving_viewer_noticed(0, true);
}
GST_END_TEST;

GST_START_TEST(test_leaving_viewer_noticed_with_resend) {
  check_leaving_viewer_noticed(kResendMs, false);
  check_leaving_viewer_noticed(kResendMs, true);
  check_leaving_viewer_noticed(60000, false);
}
GST_END_TEST;

static Suite *viewer_idle_resend_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-idle-resend", "idle-resend",
      {NAMED_TEST(test_default_is_one_second), NAMED_TEST(test_latest_frame_resent_while_idle),
       NAMED_TEST(test_zero_sends_nothing_while_idle), NAMED_TEST(test_no_resend_while_frames_flow),
       NAMED_TEST(test_no_resend_to_a_capped_viewer),
       NAMED_TEST(test_leaving_viewer_noticed_without_resend),
       NAMED_TEST(test_leaving_viewer_noticed_with_resend)});
}

GST_CHECK_MAIN(viewer_idle_resend);
