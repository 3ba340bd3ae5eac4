// SPDX-License-Identifier: LGPL-2.1-or-later
// The MJPEG server without GStreamer: a mount on an HTTP server (its own
// thread, possibly shared with other engines listening on the same place), a
// dispatcher and one viewer thread per viewer. The element owns one Engine
// per PAUSED/PLAYING session: created and started in start(), stopped and
// destroyed in stop(), so stopping is "reset to nothing".
//
// publish(), end_of_stream() and the getters are safe from any thread;
// start()/stop() must not race each other.
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.h"
#include "engine_config.h"
#include "http/http_server.h"
#include "http/server_registry.h"
#include "stats/leave_reason.h"
#include "stats/rate_meter.h"
#include "stream/dispatcher.h"
#include "stream/fanout_thread.h"
#include "stream/latest_frame.h"
#include "stream/multipart.h"
#include "stream/source_watch.h"
#include "stream/viewer_thread.h"

namespace mjpeghttp {

struct EngineHooks {
  // Called on the viewer's own thread with no engine lock held. The removed
  // hook's ViewerInfo::reason says why the viewer left.
  ViewerThread::Hook viewer_added;
  ViewerThread::Hook viewer_removed;
  LogSink log;
  // For the server's own messages: it may outlive this engine (another
  // element still uses it), so this sink must not refer to the element.
  LogSink server_log;
  // The JPEG viewers get about once a second while the source is offline,
  // `width`x`height` like the last frame, `lost_at_us` as in SourceWatch.
  // Called on the source-watch thread; empty: the last frame is sent again.
  std::function<std::string(unsigned width, unsigned height, int64_t lost_at_us)> make_placeholder;
  // The source went offline (`online` false) or came back, on the
  // source-watch thread.
  std::function<void(bool online, int64_t lost_at_us)> source_changed;
};

class Engine : private StreamService {
 public:
  Engine(EngineConfig config, EngineHooks hooks);
  ~Engine() override;
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Checks the configuration, then joins (or starts) the server. False with
  // `error` filled when a setting cannot work, clashes with another
  // element's on the same server, or the socket cannot be made.
  bool start(EngineError *error);
  // Leaves the server (stopping it when no other engine uses it), cuts every
  // viewer off and joins every thread.
  void stop();
  unsigned bound_port() const { return lease_ ? lease_->server().bound_port() : 0; }

  // Hands a JPEG to every viewer without copying it. `release` runs once no
  // viewer needs the bytes any more, on whichever thread lets go last. Costs
  // the same whatever the number of viewers: the fan-out runs on its own
  // thread.
  void publish(std::vector<iovec> chunks, int64_t timestamp_us, std::function<void()> release);
  // EOS: every viewer gets the closing part. Waits up to `max_wait` for the
  // viewers to have written it; true when all did.
  bool end_of_stream(std::chrono::milliseconds max_wait);
  // Ends a wait in end_of_stream() early (a flush started: the streaming
  // thread must not stay blocked in EOS handling).
  void interrupt_end_of_stream();
  // After a flush: the stream goes on and new viewers are served again.
  void resume();

  size_t num_viewers() const { return active_.load(); }
  // Counts a buffer the element received (`accepted`: it was a JPEG and is
  // published). Safe from any thread.
  void count_input(bool accepted);
  // Every counter and every viewer's, now. Never waits on a viewer.
  StatsSnapshot snapshot() const;
  const MultipartFormat &format() const { return format_; }
  // The picture size from the caps; 0 = read it from the frames.
  void set_resolution(unsigned width, unsigned height);
  bool source_online() const override { return source_.online(); }

 private:
  // StreamService, on the HTTP thread.
  bool reserve_viewer() override;
  void release_viewer() override;
  void adopt_viewer(GIOStream *connection, GSocket *socket, ViewerInfo info) override;
  FramePtr latest_frame() override;
  std::string stream_content_type() override { return format_.content_type(); }
  void housekeeping() override { reap_finished(); }
  StatsSnapshot stats_snapshot() override { return snapshot(); }
  unsigned source_timeout_ms() const override { return config_.source_timeout_ms; }

  // While the source is offline: every viewer gets the placeholder.
  void publish_placeholder();
  void on_source_lost(int64_t lost_at_us);
  void fill_source_stats(StatsSnapshot *snapshot) const;
  void reap_finished();
  // Adds a finished viewer's counters to retired_ (viewers_mutex_ held).
  void retire(const ViewerThread &viewer);
  void on_viewer_started(const ViewerInfo &info);
  void on_viewer_finished(const ViewerInfo &info);
  void log(LogLevel level, const std::string &text) const;

  EngineConfig config_;
  EngineHooks hooks_;
  MultipartFormat format_;
  // The same boundary with the other choice of advance headers, for viewers
  // that ask for it.
  MultipartFormat other_format_;
  Dispatcher dispatcher_;
  FanoutThread fanout_;
  // Set by publish() itself, so a snapshot or a new viewer right after a
  // frame was rendered gets that frame, even before the fan-out has run.
  LatestFrame latest_;
  std::unique_ptr<ServerLease> lease_;
  SourceWatch source_;
  // Orders sequence numbers and latest_ between the streaming thread and the
  // placeholder ticks, so a placeholder never replaces a newer frame.
  std::mutex publish_mutex_;
  std::atomic<uint64_t> next_sequence_{0};
  // Set on the source-watch thread when the source is lost.
  std::shared_ptr<const std::string> placeholder_;
  std::atomic<unsigned> caps_width_{0};
  std::atomic<unsigned> caps_height_{0};
  RateMeter capture_rate_;  // written by the streaming thread only
  RateMeter queue_rate_;    // written under publish_mutex_
  int stop_fd_ = -1;
  // What stop() tells its viewers: whether the server stopped with it.
  std::atomic<LeaveReason> stop_reason_{LeaveReason::kStopping};

  std::atomic<uint64_t> frames_published_{0};
  std::atomic<uint64_t> viewers_total_{0};
  std::atomic<uint64_t> next_viewer_id_{1};
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> frames_in_{0};
  std::atomic<uint64_t> frames_rejected_{0};
  int64_t started_monotonic_us_ = 0;

  // Guards viewers_ and reserved_. Never held while calling hooks, joining
  // or doing I/O.
  mutable std::mutex viewers_mutex_;
  std::condition_variable viewers_changed_;
  std::list<std::unique_ptr<ViewerThread>> viewers_;
  size_t reserved_ = 0;  // slots claimed: pending requests plus live viewers
  // Announced viewers that left, by LeaveReason (viewers_mutex_).
  std::array<uint64_t, kLeaveReasonCount> viewers_left_{};
  // What viewers no longer in viewers_ sent and dropped.
  struct {
    uint64_t frames_sent = 0;
    uint64_t frames_dropped = 0;
    uint64_t bytes_sent = 0;
  } retired_;
  bool end_wait_interrupted_ = false;
  bool started_ = false;
};

// A boundary unlikely to occur in JPEG data or headers.
std::string make_boundary();

}  // namespace mjpeghttp
