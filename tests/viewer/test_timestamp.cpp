// SPDX-License-Identifier: LGPL-2.1-or-later
// X-Timestamp: the wall-clock time at which the buffer's running time is
// reached on the pipeline clock. From a live source it is close to the
// viewer's clock when the part arrives and increases part by part; with
// pushed timestamps it follows the buffer's running time, not the moment of
// sending.
#include <gst/base/gstbasesink.h>
#include <gst/check/gstcheck.h>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "soup_client.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

GST_START_TEST(test_live_source_close_to_receipt_and_increasing) {
  LiveSource source(30);
  fail_unless(source.play());
  RawViewer viewer(source.port());
  fail_unless(viewer.streaming());
  constexpr size_t kParts = 30;
  const std::vector<Arrival> arrivals = record_arrivals(viewer, 0, kParts, kAwaitMs);
  fail_unless_equals_int(arrivals.size(), kParts);
  const std::vector<StreamPart> parts = viewer.parts();
  gint64 previous = 0;
  for (size_t i = 0; i < kParts; i++) {
    const gint64 stamp = part_timestamp_us(parts[i]);
    const gint64 behind_us = arrivals[i].wall_us - stamp;
    fail_unless(behind_us > -G_USEC_PER_SEC && behind_us < G_USEC_PER_SEC,
                "part %zu: X-Timestamp %" G_GINT64_FORMAT " us from its receipt", i, behind_us);
    // The sink renders a frame when its time comes (sync=true), so no part
    // can arrive before its own timestamp, beyond clock-reading jitter.
    fail_unless(behind_us > -50000, "part %zu arrived %" G_GINT64_FORMAT " us before its time", i,
                -behind_us);
    fail_unless(stamp > previous, "part %zu: X-Timestamp does not increase", i);
    previous = stamp;
  }
}
GST_END_TEST;

namespace {

// The pipeline's running time now, in nanoseconds.
GstClockTime running_time_now(GstElement *element) {
  GstClock *clock = gst_element_get_clock(element);
  fail_unless(clock != nullptr, "the pipeline has no clock");
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now - gst_element_get_base_time(element);
}

GstBuffer *stamped(const Bytes &jpeg, GstClockTime pts) {
  GstBuffer *buffer = buffer_from_bytes(jpeg);
  GST_BUFFER_PTS(buffer) = pts;
  return buffer;
}

}  // namespace

// A buffer whose running time is 5 s ahead of the clock (sync=false renders
// it at once) is stamped 5 s ahead of now; 3 s behind, 3 s behind; one
// without a timestamp gets the time it was published. /snapshot carries the
// same value as the stream part.
GST_START_TEST(test_follows_running_time) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  const std::vector<Bytes> frames = distinct_jpegs(3);
  // A first frame brings the live pipeline to PLAYING: base time and clock set.
  RawViewer viewer(pipeline.port());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(pipeline.push_jpeg(frames[0]));
  GstState state = GST_STATE_NULL;
  fail_unless(gst_element_get_state(pipeline.pipeline(), &state, nullptr, 10 * GST_SECOND) ==
              GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int(state, GST_STATE_PLAYING);
  const gint64 latency_us =
      static_cast<gint64>(gst_base_sink_get_latency(GST_BASE_SINK(pipeline.sink())) / 1000);

  const gint64 wall_before_first = g_get_real_time();
  fail_unless(viewer.await_parts(1));
  const gint64 unstamped = part_timestamp_us(viewer.parts()[0]);
  fail_unless(unstamped <= g_get_real_time() && unstamped >= wall_before_first - G_USEC_PER_SEC,
              "an unstamped buffer is not stamped with its publication time");

  struct Case {
    GstClockTimeDiff offset_ns;
    const Bytes &frame;
  };
  const Case cases[] = {{5 * GST_SECOND, frames[1]},
                        {-3 * static_cast<GstClockTimeDiff>(GST_SECOND), frames[2]}};
  size_t index = 1;
  for (const Case &c : cases) {
    const GstClockTime pts = running_time_now(pipeline.sink()) + c.offset_ns;
    const gint64 expected = g_get_real_time() + c.offset_ns / 1000 + latency_us;
    fail_unless(pipeline.push_and_await(stamped(c.frame, pts), "frames-published"));
    fail_unless(viewer.await_parts(index + 1));
    const StreamPart part = viewer.parts()[index];
    fail_unless(part.body == c.frame);
    const gint64 error_us = part_timestamp_us(part) - expected;
    fail_unless(error_us > -300000 && error_us < 300000,
                "running time %+" G_GINT64_FORMAT " ms: X-Timestamp off by %" G_GINT64_FORMAT " us",
                c.offset_ns / 1000000, error_us);
    SoupReply snapshot = soup_fetch(pipeline.port(), "GET", "/snapshot");
    fail_unless_equals_int(snapshot.status, 200);
    const std::string snapshot_stamp = snapshot.header("X-Timestamp");
    fail_unless(snapshot_stamp == part.headers.at("x-timestamp"),
                "snapshot X-Timestamp %s, stream part %s", snapshot_stamp.c_str(),
                part.headers.at("x-timestamp").c_str());
    index++;
  }
}
GST_END_TEST;

static Suite *viewer_timestamp_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-timestamp", "timestamp",
      {NAMED_TEST(test_live_source_close_to_receipt_and_increasing),
       NAMED_TEST(test_follows_running_time)});
}

GST_CHECK_MAIN(viewer_timestamp);
