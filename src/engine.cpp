// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "stream/jpeg_dht.h"
#include "stream/jpeg_size.h"

namespace mjpeghttp {

namespace {

// Once per viewer, never per frame. A viewer cut off for being too slow is
// what an operator looks for (a timeout or queue-disconnect policy at work);
// a failed write is the network's or the viewer's doing, worth a note; a
// viewer that closed, a stream that ended or a stop is routine.
LogLevel level_of(LeaveReason reason) {
  switch (reason) {
    case LeaveReason::kTimeout:
    case LeaveReason::kQueueDisconnect:
      return LogLevel::kWarning;
    case LeaveReason::kWriteError:
      return LogLevel::kInfo;
    case LeaveReason::kClosed:
    case LeaveReason::kEndOfStream:
    case LeaveReason::kStopping:
    case LeaveReason::kMountRemoved:
      break;
  }
  return LogLevel::kDebug;
}

}  // namespace

std::string make_boundary() {
  char text[40];
  snprintf(text, sizeof text, "mjpeghttpsink-%08x%08x", g_random_int(), g_random_int());
  return text;
}

Engine::Engine(EngineConfig config, EngineHooks hooks)
    : config_(std::move(config)),
      hooks_(std::move(hooks)),
      format_(make_boundary(), config_.headers_in_advance),
      other_format_(format_.boundary(), !config_.headers_in_advance),
      fanout_(dispatcher_) {}

Engine::~Engine() { stop(); }

void Engine::log(LogLevel level, const std::string &text) const {
  if (hooks_.log) hooks_.log(level, text);
}

bool Engine::start(EngineError *error) {
  EngineError ignored;
  if (!error) error = &ignored;
  if (!config_.check(error)) return false;
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    error->kind = EngineError::Kind::kCannotListen;
    error->message = "cannot create eventfd";
    return false;
  }
  // Before the HTTP thread can route to this mount, which reads it for /stats.
  started_monotonic_us_ = g_get_monotonic_time();
  ServerLease::Failure failure = ServerLease::Failure::kNone;
  lease_ = ServerLease::acquire(config_.server, config_.mount.element_name, hooks_.server_log,
                                &failure, &error->message);
  if (lease_ && !lease_->server().add_mount(config_.mount, this, &error->message)) {
    failure = ServerLease::Failure::kConflict;
    lease_.reset();
  }
  if (!lease_) {
    error->kind = failure == ServerLease::Failure::kConflict ? EngineError::Kind::kSettings
                                                             : EngineError::Kind::kCannotListen;
    close(stop_fd_);
    stop_fd_ = -1;
    return false;
  }
  fanout_.start();
  SourceWatch::Hooks watch;
  watch.went_offline = [this](int64_t lost_at_us) { on_source_lost(lost_at_us); };
  watch.offline_tick = [this] { publish_placeholder(); };
  watch.came_online = [this] {
    log(LogLevel::kInfo, "the source is back online");
    if (hooks_.source_changed) hooks_.source_changed(true, 0);
  };
  source_.start(config_.source_timeout_ms, std::move(watch));
  started_ = true;
  log(LogLevel::kInfo, "serving mount " + config_.mount.mount + " on " +
                           config_.server.listen.describe() + " (port " +
                           std::to_string(bound_port()) + ")");
  return true;
}

void Engine::stop() {
  if (!started_) return;
  started_ = false;
  // First no new viewers, then wake every viewer (waiting for a frame or for
  // a full socket), then join them all. The server stays up for the other
  // mounts on it, if any.
  // First: its ticks publish placeholders, through the fan-out and the server.
  source_.stop();
  lease_->server().remove_mount(this);
  // Known before any viewer is cut off: each tells why it left.
  stop_reason_.store(lease_->release() ? LeaveReason::kStopping : LeaveReason::kMountRemoved);
  lease_.reset();
  fanout_.stop();
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) log(LogLevel::kWarning, "cannot signal stop");
  dispatcher_.shutdown();
  std::list<std::unique_ptr<ViewerThread>> leaving;
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    leaving.swap(viewers_);
  }
  // Join outside the lock (leaving viewers run client-removed), then keep
  // their totals for snapshot().
  for (auto &viewer : leaving) viewer->join();
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    for (const auto &viewer : leaving) retire(*viewer);
  }
  leaving.clear();  // each destructor closes what is left of its connection
  close(stop_fd_);
  stop_fd_ = -1;
}

void Engine::publish(std::vector<iovec> chunks, int64_t timestamp_us,
                     std::function<void()> release) {
  auto frame = std::make_shared<Frame>();
  size_t dht_at = 0;
  if (config_.insert_dht && find_missing_dht(chunks, &dht_at))
    chunks = insert_chunk(chunks, dht_at, standard_dht_segment());
  frame->chunks = std::move(chunks);
  for (const iovec &chunk : frame->chunks) frame->size += chunk.iov_len;
  frame->timestamp_us = timestamp_us;
  frame->release = std::move(release);
  frame->part_header = MultipartFormat::part_header(frame->size, timestamp_us);
  frame->published_us = g_get_monotonic_time();
  frames_published_.fetch_add(1);
  capture_rate_.tick(frame->published_us / 1000);
  FramePtr previous;
  {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    // Numbered before any other thread can see the frame: it is immutable
    // from here on.
    frame->sequence = next_sequence_.fetch_add(1) + 1;
    queue_rate_.tick(frame->published_us / 1000);
    // The replaced frame is dropped after the lock.
    previous = latest_.replace(frame);
    source_.frame_arrived(frame->published_us);
  }
  fanout_.submit(std::move(frame));
  if (lease_) lease_->server().frame_published();
}

void Engine::on_source_lost(int64_t lost_at_us) {
  unsigned width = caps_width_.load(), height = caps_height_.load();
  FramePtr last = latest_.get();
  if ((width == 0 || height == 0) && !(last && read_jpeg_size(last->chunks, &width, &height))) {
    // Nothing tells the size yet: a common camera size.
    width = 640;
    height = 480;
  }
  std::string picture;
  if (hooks_.make_placeholder) picture = hooks_.make_placeholder(width, height, lost_at_us);
  {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    if (!picture.empty()) placeholder_ = std::make_shared<const std::string>(std::move(picture));
  }
  // Published before the offline message goes out: an application (or a
  // test) that asks for /snapshot on that message gets the placeholder, not
  // the last frame marked offline.
  publish_placeholder();
  log(LogLevel::kInfo,
      "no frame for " + std::to_string(config_.source_timeout_ms) + " ms: the source is offline");
  if (hooks_.source_changed) hooks_.source_changed(false, lost_at_us);
}

void Engine::publish_placeholder() {
  std::shared_ptr<const std::string> bytes;
  FramePtr frame;
  FramePtr previous;
  {
    std::lock_guard<std::mutex> lock(publish_mutex_);
    // A frame that came back meanwhile wins.
    if (source_.online()) return;
    bytes = placeholder_;
    FramePtr last = latest_.get();
    if (!bytes && !last) return;
    frame = std::make_shared<Frame>();
    const int64_t now_wall = g_get_real_time();
    if (bytes) {
      frame->chunks.push_back({const_cast<char *>(bytes->data()), bytes->size()});
      frame->size = bytes->size();
      // The frame holds the bytes, however long a viewer keeps it.
      frame->release = [bytes] {};
    } else {
      // No picture could be made: the last frame again, as a new part.
      frame->chunks = last->chunks;
      frame->size = last->size;
      frame->release = [last] {};
    }
    frame->timestamp_us = now_wall;
    frame->part_header = MultipartFormat::part_header(frame->size, now_wall);
    frame->published_us = g_get_monotonic_time();
    frame->placeholder = true;
    frame->sequence = next_sequence_.fetch_add(1) + 1;
    queue_rate_.tick(frame->published_us / 1000);
    previous = latest_.replace(frame);
  }
  fanout_.submit(std::move(frame));
  lease_->server().frame_published();
}

void Engine::set_resolution(unsigned width, unsigned height) {
  caps_width_.store(width);
  caps_height_.store(height);
}

void Engine::fill_source_stats(StatsSnapshot *snapshot) const {
  const int64_t now_us = g_get_monotonic_time();
  snapshot->source_online = source_.online();
  const int64_t last = source_.last_frame_us();
  snapshot->last_frame_age_seconds =
      last ? static_cast<double>(now_us - last) / G_USEC_PER_SEC : -1;
  snapshot->captured_fps = capture_rate_.rate(now_us / 1000, started_monotonic_us_ / 1000);
  snapshot->queued_fps = queue_rate_.rate(now_us / 1000, started_monotonic_us_ / 1000);
  snapshot->width = caps_width_.load();
  snapshot->height = caps_height_.load();
  if (snapshot->width == 0 || snapshot->height == 0) {
    FramePtr latest = latest_.get();
    if (!latest || !read_jpeg_size(latest->chunks, &snapshot->width, &snapshot->height))
      snapshot->width = snapshot->height = 0;
  }
}

FramePtr Engine::latest_frame() { return latest_.get(); }

bool Engine::end_of_stream(std::chrono::milliseconds max_wait) {
  fanout_.submit_end();
  std::unique_lock<std::mutex> lock(viewers_mutex_);
  end_wait_interrupted_ = false;
  // Every slot, not only announced viewers: a viewer whose thread has not
  // attached yet must also get (and flush) its closing part before the
  // application may stop the pipeline.
  return viewers_changed_.wait_for(lock, max_wait, [this] {
    return reserved_ == 0 || end_wait_interrupted_;
  }) && !end_wait_interrupted_;
}

void Engine::interrupt_end_of_stream() {
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    end_wait_interrupted_ = true;
  }
  viewers_changed_.notify_all();
}

void Engine::resume() { fanout_.submit_resume(); }

StatsSnapshot Engine::snapshot() const {
  StatsSnapshot stats;
  stats.element_name = config_.mount.element_name;
  const int64_t now_us = g_get_monotonic_time();
  const int64_t now_wall_us = g_get_real_time();
  stats.uptime_seconds = static_cast<double>(now_us - started_monotonic_us_) / G_USEC_PER_SEC;
  stats.frames_in = frames_in_.load();
  stats.frames_rejected = frames_rejected_.load();
  stats.frames_published = frames_published_.load();
  stats.frames_overflowed = fanout_.overflowed();
  {
    // Each viewer counts only into its own counters (no cache line shared by
    // every viewer on every write); the totals are summed when asked for.
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    // Only atomics are read under the lock: a viewer stuck in a write never
    // holds viewers_mutex_, so this cannot wait on one.
    stats.frames_sent = retired_.frames_sent;
    stats.frames_dropped = retired_.frames_dropped;
    stats.bytes_served = retired_.bytes_sent;
    // The reasons that can happen while the mount serves; the others reach
    // only the bus and the signal.
    std::copy(viewers_left_.begin(), viewers_left_.begin() + kLeaveReasonsWhileServing,
              stats.viewers_left.begin());
    stats.viewers.reserve(viewers_.size());
    for (const auto &viewer : viewers_) {
      const ViewerCounters &counters = viewer->counters();
      stats.frames_sent += counters.frames_sent.load(std::memory_order_relaxed);
      stats.frames_dropped += counters.frames_dropped.load(std::memory_order_relaxed);
      stats.bytes_served += counters.bytes_sent.load(std::memory_order_relaxed);
      if (viewer->finished()) continue;
      const ViewerInfo &info = viewer->info();
      ViewerSnapshot entry;
      entry.id = info.id;
      entry.address = info.address;
      entry.user_agent = info.user_agent;
      entry.connected_us = info.connected_us;
      entry.connected_seconds =
          static_cast<double>(now_wall_us - info.connected_us) / G_USEC_PER_SEC;
      entry.fps = counters.send_rate.rate(now_us / 1000, counters.started_monotonic_ms);
      entry.frames_sent = counters.frames_sent.load(std::memory_order_relaxed);
      entry.frames_dropped = counters.frames_dropped.load(std::memory_order_relaxed);
      entry.bytes_sent = counters.bytes_sent.load(std::memory_order_relaxed);
      entry.queue_depth = counters.queue_depth.load(std::memory_order_relaxed);
      entry.advance_headers = info.advance_headers.value_or(false);
      entry.dual_final_frames = info.dual_final_frames;
      stats.viewers.push_back(std::move(entry));
    }
  }
  stats.viewers_total = viewers_total_.load();
  stats.viewers_now = active_.load();
  fill_source_stats(&stats);
  return stats;
}

void Engine::count_input(bool accepted) {
  frames_in_.fetch_add(1, std::memory_order_relaxed);
  if (!accepted) frames_rejected_.fetch_add(1, std::memory_order_relaxed);
}

bool Engine::reserve_viewer() {
  std::lock_guard<std::mutex> lock(viewers_mutex_);
  if (config_.max_viewers > 0 && reserved_ >= config_.max_viewers) return false;
  reserved_++;
  return true;
}

void Engine::release_viewer() {
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    if (reserved_ > 0) reserved_--;
  }
  viewers_changed_.notify_all();
}

void Engine::adopt_viewer(GIOStream *connection, GSocket *socket, ViewerInfo info) {
  reap_finished();
  info.id = next_viewer_id_.fetch_add(1);
  ViewerEnvironment env;
  env.dispatcher = &dispatcher_;
  // ustreamer's ?advance_headers= picks this viewer's framing; without it
  // the advance-headers property does.
  const bool advance = info.advance_headers.value_or(config_.headers_in_advance);
  info.advance_headers = advance;
  env.format = advance == config_.headers_in_advance ? &format_ : &other_format_;
  env.queue_capacity = config_.max_queued_frames;
  env.queue_policy = config_.queue_policy;
  env.viewer_timeout_ms = config_.viewer_timeout_ms;
  // A resend every few milliseconds would multiply every viewer's bandwidth
  // for nothing: below kMinIdleResendMs the period is raised to it.
  env.idle_resend_ms =
      config_.idle_resend_ms == 0 ? 0 : std::max(config_.idle_resend_ms, kMinIdleResendMs);
  env.stop_fd = stop_fd_;
  env.stop_reason = &stop_reason_;
  env.latest = &latest_;
  env.tls = config_.server.tls_certificate != nullptr;
  auto viewer = std::make_unique<ViewerThread>(
      std::move(info), connection, socket, env,
      [this](const ViewerInfo &i) { on_viewer_started(i); },
      [this](const ViewerInfo &i) { on_viewer_finished(i); });
  ViewerThread *raw = viewer.get();
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    viewers_.push_back(std::move(viewer));
  }
  std::string error;
  if (!raw->start(&error)) {
    log(LogLevel::kWarning, raw->info().address + ": " + error);
    release_viewer();
  }
}

void Engine::on_viewer_started(const ViewerInfo &info) {
  active_.fetch_add(1);
  viewers_total_.fetch_add(1);
  log(LogLevel::kDebug, "viewer " + std::to_string(info.id) + " " + info.address + " connected");
  if (hooks_.viewer_added) hooks_.viewer_added(info);
}

void Engine::on_viewer_finished(const ViewerInfo &info) {
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    if (reserved_ > 0) reserved_--;
    if (info.announced) {
      active_.fetch_sub(1);
      viewers_left_[static_cast<size_t>(info.reason)]++;
    }
  }
  viewers_changed_.notify_all();
  if (!info.announced) return;
  log(level_of(info.reason), "viewer " + std::to_string(info.id) + " " + info.address +
                                 " left: " + leave_reason_name(info.reason));
  if (hooks_.viewer_removed) hooks_.viewer_removed(info);
}

void Engine::retire(const ViewerThread &viewer) {
  const ViewerCounters &counters = viewer.counters();
  retired_.frames_sent += counters.frames_sent.load(std::memory_order_relaxed);
  retired_.frames_dropped += counters.frames_dropped.load(std::memory_order_relaxed);
  retired_.bytes_sent += counters.bytes_sent.load(std::memory_order_relaxed);
}

void Engine::reap_finished() {
  std::list<std::unique_ptr<ViewerThread>> done;
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    for (auto it = viewers_.begin(); it != viewers_.end();) {
      auto next = std::next(it);
      if ((*it)->finished()) {
        retire(**it);
        done.splice(done.end(), viewers_, it);
      }
      it = next;
    }
  }
  // Joining happens here, outside the lock; these threads have returned or
  // are about to.
}

}  // namespace mjpeghttp
