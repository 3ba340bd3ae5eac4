// SPDX-License-Identifier: LGPL-2.1-or-later
// /stream?fps=N caps one viewer's rate, from a live 30 fps source: a viewer
// capped at 10 gets every third frame, evenly spaced; a cap at or above the
// source rate gets every frame; an uncapped viewer watching at the same time
// gets every frame too (the cap is the viewer's own). Invalid caps are a 400
// and never a stream.
#include <gst/check/gstcheck.h>

#include <algorithm>
#include <set>
#include <string>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

namespace {

constexpr gint64 kFramePeriodUs = 33333;
// Parts the uncapped viewer reads: two seconds of a 30 fps source.
constexpr size_t kWindowParts = 61;

std::vector<gint64> timestamps_of(const RawViewer &viewer) {
  std::vector<gint64> stamps;
  for (const StreamPart &part : viewer.parts()) stamps.push_back(part_timestamp_us(part));
  return stamps;
}

std::vector<gint64> within(const std::vector<gint64> &stamps, gint64 first, gint64 last) {
  std::vector<gint64> kept;
  for (gint64 stamp : stamps)
    if (stamp >= first && stamp <= last) kept.push_back(stamp);
  return kept;
}

void check_gaps(const std::vector<gint64> &stamps, gint64 low_us, gint64 high_us, const char *who) {
  for (size_t i = 1; i < stamps.size(); i++) {
    const gint64 gap = stamps[i] - stamps[i - 1];
    fail_unless(gap >= low_us && gap <= high_us,
                "%s: X-Timestamp gap %zu is %" G_GINT64_FORMAT " us, expected %" G_GINT64_FORMAT
                "..%" G_GINT64_FORMAT,
                who, i, gap, low_us, high_us);
  }
}

}  // namespace

GST_START_TEST(test_capped_and_uncapped_viewers_together) {
  LiveSource source(30);
  fail_unless(source.play());
  RawViewer uncapped(source.port(), "/stream");
  RawViewer at_source_rate(source.port(), "/stream?fps=30");
  RawViewer above_source_rate(source.port(), "/stream?fps=100");
  RawViewer capped(source.port(), "/stream?fps=10");
  for (const RawViewer *viewer : {&uncapped, &at_source_rate, &above_source_rate, &capped})
    fail_unless(viewer->streaming(), "a viewer got status %d", viewer->head().status);

  fail_unless(uncapped.await_parts(kWindowParts), "the uncapped viewer got %zu parts: %s",
              uncapped.parts().size(), uncapped.detail().c_str());
  // The others have had the same frames offered; give them time to take the
  // last of those before comparing.
  const std::vector<gint64> all = timestamps_of(uncapped);
  fail_unless(await_condition([&] {
    for (const RawViewer *viewer : {&at_source_rate, &above_source_rate, &capped}) {
      const std::vector<gint64> stamps = timestamps_of(*viewer);
      if (stamps.empty() || stamps.back() < all.back() - 100000) return false;
    }
    return true;
  }));
  for (RawViewer *viewer : {&uncapped, &at_source_rate, &above_source_rate, &capped})
    viewer->leave();

  // Compare over the span every viewer covered.
  gint64 first = G_MININT64, last = G_MAXINT64;
  for (const RawViewer *viewer : {&uncapped, &at_source_rate, &above_source_rate, &capped}) {
    const std::vector<gint64> stamps = timestamps_of(*viewer);
    first = std::max(first, stamps.front());
    last = std::min(last, stamps.back());
  }
  fail_unless(last - first >= 1500000, "viewers overlap only %" G_GINT64_FORMAT " us",
              last - first);

  // Uncapped: every frame, one source period apart (a missing frame would
  // leave a double gap).
  const std::vector<gint64> every = within(all, first, last);
  // A frame missing for every viewer would be the source's or the fan-out's
  // (frames-overflowed); one missing for this viewer only, its queue's.
  const std::string uncapped_who =
      "uncapped (frames-overflowed " + std::to_string(source.stat("frames-overflowed")) +
      ", frames-dropped " + std::to_string(source.stat("frames-dropped")) + ")";
  check_gaps(timestamps_of(uncapped), kFramePeriodUs - 8000, kFramePeriodUs + 8000,
             uncapped_who.c_str());

  // A cap at or above the source rate: exactly the frames the uncapped
  // viewer got.
  fail_unless(within(timestamps_of(at_source_rate), first, last) == every,
              "fps=30 viewer missed frames: %zu of %zu",
              within(timestamps_of(at_source_rate), first, last).size(), every.size());
  fail_unless(within(timestamps_of(above_source_rate), first, last) == every,
              "fps=100 viewer missed frames: %zu of %zu",
              within(timestamps_of(above_source_rate), first, last).size(), every.size());

  // Capped at 10: frames of the source (not re-timed copies), every third,
  // 100 ms apart from the very first part on — never a 33 ms gap.
  const std::vector<gint64> capped_all = timestamps_of(capped);
  const std::set<gint64> source_frames(all.begin(), all.end());
  for (gint64 stamp : within(capped_all, first, last))
    fail_unless(source_frames.count(stamp), "fps=10 viewer got a frame the source never sent");
  check_gaps(capped_all, 100000 - 10000, 100000 + 10000, "fps=10");
  // Points 100 ms apart in a closed window of this span, give or take the
  // one at either end.
  const size_t expected = static_cast<size_t>((last - first) / 100000) + 1;
  const size_t got = within(capped_all, first, last).size();
  fail_unless(got + 1 >= expected && got <= expected + 1,
              "fps=10 viewer got %zu parts in %" G_GINT64_FORMAT " us, expected about %zu", got,
              last - first, expected);
}
GST_END_TEST;

// fps=1 on a 30 fps source: parts a second apart (a long window in few parts).
GST_START_TEST(test_one_fps) {
  LiveSource source(30);
  fail_unless(source.play());
  RawViewer viewer(source.port(), "/stream?fps=1");
  fail_unless(viewer.streaming());
  fail_unless(viewer.await_parts(3), "%zu parts: %s", viewer.parts().size(),
              viewer.detail().c_str());
  viewer.leave();
  std::vector<gint64> stamps = timestamps_of(viewer);
  // The cap keeps a fixed one-second schedule and sends the first frame at
  // or after each slot. When a busy machine loses the source frame at a
  // slot, the next one (a source period later) takes it and the gap after
  // it is a period short, keeping the average exact: so a gap is a second
  // give or take one source period, never the 2 s or 33 ms of a broken cap.
  check_gaps(stamps, 1000000 - kFramePeriodUs - 5000, 1000000 + kFramePeriodUs + 5000, "fps=1");
}
GST_END_TEST;

GST_START_TEST(test_invalid_fps_is_bad_request) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(distinct_jpegs(1).at(0)));
  for (const char *value : {"abc", "0", "-1", "1001", "", "nan", "inf", "-inf", "10abc", "1e9",
                            "0.0", "1001.0", "0.0099", "1e-9"}) {
    const std::string path = std::string("/stream?fps=") + value;
    HttpResponse response = http_exchange(pipeline.port(), "GET", path);
    fail_unless_equals_int(response.status, 400);
    fail_unless(response.header("Content-Type").find("multipart") == std::string::npos,
                "%s: Content-Type %s", path.c_str(), response.header("Content-Type").c_str());
    fail_unless(response.closed_by_server, "%s: the connection stayed open", path.c_str());
    fail_unless(response.body.find("\xFF\xD8") == std::string::npos, "%s: a JPEG in the body",
                path.c_str());
  }
  fail_unless_equals_int(pipeline.num_clients(), 0);
  fail_unless_equals_int(pipeline.stat("viewers-total"), 0);
  fail_unless_equals_int(pipeline.stat("frames-sent"), 0);
}
GST_END_TEST;

// The extremes of the valid range stream: a cap is any number from 0.01 up
// to 1000, fractions included.
GST_START_TEST(test_valid_fps_edges_stream) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  const Bytes frame = distinct_jpegs(1).at(0);
  fail_unless(pipeline.push_jpeg(frame));
  for (const char *value : {"1000", "0.5", "1e1", "29.97", "0.01", "1e-2"}) {
    RawViewer viewer(pipeline.port(), std::string("/stream?fps=") + value);
    fail_unless(viewer.streaming(), "fps=%s: status %d", value, viewer.head().status);
    fail_unless(viewer.await_parts(1), "fps=%s: %s", value, viewer.detail().c_str());
    fail_unless(viewer.parts().at(0).body == frame);
  }
}
GST_END_TEST;

static Suite *viewer_fps_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-fps", "fps",
      {NAMED_TEST(test_capped_and_uncapped_viewers_together), NAMED_TEST(test_one_fps),
       NAMED_TEST(test_invalid_fps_is_bad_request), NAMED_TEST(test_valid_fps_edges_stream)});
}

GST_CHECK_MAIN(viewer_fps);
