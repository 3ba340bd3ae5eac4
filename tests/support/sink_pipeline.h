// SPDX-License-Identifier: LGPL-2.1-or-later
// The element under test in a real pipeline: appsrc ! mjpeghttpsink, the sink
// listening on an ephemeral loopback port, with idle-resend and
// source-timeout off so viewers get exactly the frames pushed. One instance
// per test; used from the test's thread only.
#pragma once

#include <gst/gst.h>

#include <vector>

#include "jpeg_frames.h"

namespace test_support {

// One counter of the sink's get-stats (a guint64 or guint field).
guint64 sink_stat(GstElement *sink, const char *field);

class SinkPipeline {
 public:
  SinkPipeline();
  ~SinkPipeline();
  SinkPipeline(const SinkPipeline &) = delete;
  SinkPipeline &operator=(const SinkPipeline &) = delete;

  GstElement *sink() const { return sink_; }
  GstElement *pipeline() const { return pipeline_; }

  // To PLAYING; true once the sink listens.
  bool play();
  // To PLAYING with `first_frame` published, as most tests begin; the test
  // fails, saying which, if the sink does not listen or publish it.
  void start_serving(const Bytes &first_frame);
  // To NULL (synchronous: the server and every viewer thread are gone).
  void stop();
  // The port the sink listens on now (current-port).
  int port() const;

  // Pushes one JPEG and waits until the sink has published it to viewers.
  bool push_jpeg(const Bytes &jpeg);
  // Pushes `buffer` (ownership taken) and waits until the get-stats `counter`
  // has grown by one.
  bool push_and_await(GstBuffer *buffer, const char *counter);
  void push_eos();

  guint64 stat(const char *field) const;
  guint num_clients() const;
  bool await_num_clients(guint expected) const;
  // Keeps a live source's pace (one JPEG every few ms) until `condition`
  // holds: a viewer that left is noticed when the next frame is written to it.
  template <typename Condition>
  bool pump_frames_until(const Bytes &jpeg, Condition condition);

  // The next bus message of one of `types`, or nullptr after `timeout_ms`.
  GstMessage *await_message(GstMessageType types, int timeout_ms) const;
  // Every message of one of `types` now queued on the bus.
  std::vector<GstMessage *> take_messages(GstMessageType types) const;

 private:
  GstElement *pipeline_ = nullptr;
  GstElement *source_ = nullptr;
  GstElement *sink_ = nullptr;
};

template <typename Condition>
bool SinkPipeline::pump_frames_until(const Bytes &jpeg, Condition condition) {
  const gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < deadline) {
    if (condition()) return true;
    if (!push_jpeg(jpeg)) return false;
    const gint64 pause_end = g_get_monotonic_time() + 20 * 1000;
    while (!condition() && g_get_monotonic_time() < pause_end) g_usleep(2000);
  }
  return condition();
}

// Counts for leak checks: entries of /proc/self/fd and /proc/self/task.
int count_open_fds();
int count_threads();

}  // namespace test_support
