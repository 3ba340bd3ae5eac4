// SPDX-License-Identifier: LGPL-2.1-or-later
// The scene every hostile case plays in: appsrc ! mjpeghttpsink on an
// ephemeral loopback port, a feeder thread pushing numbered JPEGs at 30 fps
// like a camera, and well-behaved viewers connected throughout. After a case,
// expect_undisturbed() asserts what the battery promises: the viewers got
// every frame in order without a long silence, the element posted no error,
// and descriptors and threads are back to where they were.
// Used from the test's thread only.
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sequence_viewer.h"
#include "sink_pipeline.h"

namespace hardening_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::Bytes;
using test_support::SinkPipeline;

struct LiveOptions {
  guint max_clients = 0;        // the element's default: unlimited
  guint request_timeout_s = 0;  // 0: leave the element's default
  guint client_timeout_s = 0;   // 0: leave the element's default
  int viewers = 3;
  // Play and stop once before the real start, so the threads and
  // descriptors GLib and GStreamer keep for good (pooled streaming thread)
  // exist when idle_threads() and idle_fds() are counted.
  bool warm_up = false;
};

// Whether the element has the request-timeout property the idle cases need.
bool has_request_timeout();

// Lifts the soft RLIMIT_NOFILE to the hard limit: the limit cases hold a
// thousand descriptors (both ends of 500 connections) in this one process.
void raise_fd_limit();

class LiveStream {
 public:
  explicit LiveStream(LiveOptions options = LiveOptions());
  ~LiveStream();
  LiveStream(const LiveStream &) = delete;
  LiveStream &operator=(const LiveStream &) = delete;

  SinkPipeline &pipeline() { return pipeline_; }
  GstElement *sink() const { return pipeline_.sink(); }
  int port() const { return port_; }
  // The number of the newest frame pushed so far.
  uint64_t pushed() const { return pushed_.load(); }
  const std::vector<std::unique_ptr<SequenceViewer>> &viewers() const { return viewers_; }
  int baseline_fds() const { return baseline_fds_; }
  int baseline_threads() const { return baseline_threads_; }
  // Counted with the pipeline stopped after the warm-up cycle (0 without).
  int idle_fds() const { return idle_fds_; }
  int idle_threads() const { return idle_threads_; }

  // The assertions every case ends with (see the file comment); `settle_ms`
  // bounds the wait for descriptors and threads to come back.
  void expect_undisturbed(const char *case_name, int settle_ms = 10000);
  // Each viewer reached the newest frame, or `frames_after` frames beyond
  // it, and saw no problem.
  void expect_viewers_intact(const char *case_name, uint64_t frames_after = 0);
  void expect_no_error(const char *case_name);
  // `count` new viewers connect at once and are all served the stream, then
  // hang up: the slots the server counts are free (again, `after` something).
  void expect_slots_serve(size_t count, const char *after);
  void expect_baseline(const char *case_name, int settle_ms);

  // Stops and joins the feeder (the pipeline keeps PLAYING).
  void stop_feeding();

 private:
  void feed();

  SinkPipeline pipeline_;
  GstElement *source_ = nullptr;
  std::vector<Bytes> pictures_;
  int port_ = 0;

  std::thread feeder_;
  std::mutex feeder_mutex_;
  std::condition_variable feeder_wake_;
  bool feeder_stop_ = false;
  std::atomic<uint64_t> pushed_{0};
  std::atomic<int> push_failures_{0};

  std::vector<std::unique_ptr<SequenceViewer>> viewers_;
  int baseline_fds_ = 0;
  int baseline_threads_ = 0;
  int idle_fds_ = 0;
  int idle_threads_ = 0;
};

// main() for a battery executable: descriptors first, then gst-check.
int run_battery(int argc, char **argv, Suite *(*make_suite)(), const char *name, const char *file);

}  // namespace hardening_test
