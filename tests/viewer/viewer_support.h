// SPDX-License-Identifier: LGPL-2.1-or-later
// What the per-viewer tests share beyond the element tests' support: a live
// camera-like source, the receipt time of each part a viewer reads, the
// X-Timestamp as a number, decoding a JPEG with jpegdec, and running a
// third-party client (ffmpeg) while the test keeps the stream going.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <string>
#include <vector>

#include "jpeg_frames.h"
#include "process.h"
#include "stream_client.h"

namespace viewer_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::Bytes;

// videotestsrc is-live=true ! 160x120 at `fps` ! jpegenc ! mjpeghttpsink:
// frames carry timestamps of a real live source, and the sink renders each
// at its time on the pipeline clock (sync=true, as in a real application).
class LiveSource {
 public:
  explicit LiveSource(int fps = 30);
  ~LiveSource();
  LiveSource(const LiveSource &) = delete;
  LiveSource &operator=(const LiveSource &) = delete;

  GstElement *sink() const { return sink_; }
  // To PLAYING; true once the sink listens and has published a first frame,
  // so viewers that connect from now on start with a picture.
  bool play();
  int port() const;
  guint64 stat(const char *field) const;

 private:
  GstElement *pipeline_ = nullptr;
  GstElement *sink_ = nullptr;
};

// When a viewer's part arrived, as seen by the test thread that the viewer's
// reader wakes (microseconds; wall clock and monotonic).
struct Arrival {
  gint64 wall_us = 0;
  gint64 monotonic_us = 0;
};

// Waits for parts `first` .. `first + count - 1` of `viewer` one by one and
// notes when each arrived; stops early (fewer entries) at the deadline.
std::vector<Arrival> record_arrivals(const test_support::RawViewer &viewer, size_t first,
                                     size_t count, int timeout_ms);

// X-Timestamp of a part in microseconds since the epoch; fails the test if
// the header is missing or malformed.
gint64 part_timestamp_us(const test_support::StreamPart &part);

struct Decoded {
  bool ok = false;
  int width = 0;
  int height = 0;
  std::string error;
};

// Decodes one JPEG with appsrc ! jpegdec ! appsink in this process.
Decoded decode_with_jpegdec(const Bytes &jpeg);

// An unused temporary file path (the file exists, empty); removed by the
// caller.
std::string temporary_path(const char *suffix);

}  // namespace viewer_test
