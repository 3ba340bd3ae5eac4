// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "jpeg_dht.h"

namespace mjpeghttp {

std::string make_boundary() {
  char text[40];
  snprintf(text, sizeof text, "mjpeghttpsink-%08x%08x", g_random_int(), g_random_int());
  return text;
}

Engine::Engine(EngineConfig config, EngineHooks hooks)
    : config_(std::move(config)),
      hooks_(std::move(hooks)),
      format_(make_boundary(), config_.headers_in_advance),
      fanout_(dispatcher_) {}

Engine::~Engine() { stop(); }

void Engine::log(LogLevel level, const std::string &text) const {
  if (hooks_.log) hooks_.log(level, text);
}

bool Engine::start(std::string *error, ServerLease::Failure *failure) {
  ServerLease::Failure ignored;
  if (!failure) failure = &ignored;
  *failure = ServerLease::Failure::kNone;
  std::string message;
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    if (error) *error = "cannot create eventfd";
    *failure = ServerLease::Failure::kListen;
    return false;
  }
  // Before the HTTP thread can route to this mount, which reads it for /stats.
  started_monotonic_us_ = g_get_monotonic_time();
  lease_ = ServerLease::acquire(config_.server, config_.mount.element_name, hooks_.server_log,
                                failure, &message);
  if (lease_ && !lease_->server().add_mount(config_.mount, this, &message)) {
    *failure = ServerLease::Failure::kConflict;
    lease_.reset();
  }
  if (!lease_) {
    if (error) *error = message;
    close(stop_fd_);
    stop_fd_ = -1;
    return false;
  }
  fanout_.start();
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
  lease_->server().remove_mount(this);
  lease_.reset();
  fanout_.stop();
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) log(LogLevel::kWarning, "cannot signal stop");
  dispatcher_.shutdown();
  std::list<std::unique_ptr<ClientThread>> leaving;
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    leaving.swap(viewers_);
  }
  // Join outside the lock (leaving viewers run client-removed), then keep
  // their totals for stats().
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
  // Numbered before any other thread can see the frame: it is immutable
  // from here on.
  frame->sequence = frames_published_.fetch_add(1) + 1;
  // The replaced frame is dropped here, after the lock.
  FramePtr previous = latest_.replace(frame);
  fanout_.submit(std::move(frame));
}

FramePtr Engine::latest_frame() { return latest_.get(); }

bool Engine::end_of_stream(std::chrono::milliseconds max_wait) {
  fanout_.submit_end();
  std::unique_lock<std::mutex> lock(viewers_mutex_);
  end_wait_interrupted_ = false;
  // Every slot, not only announced viewers: a viewer whose thread has not
  // attached yet must also get (and flush) its closing part before the
  // application may stop the pipeline.
  return viewers_changed_.wait_for(lock, max_wait,
                                   [this] { return reserved_ == 0 || end_wait_interrupted_; }) &&
         !end_wait_interrupted_;
}

void Engine::interrupt_end_of_stream() {
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    end_wait_interrupted_ = true;
  }
  viewers_changed_.notify_all();
}

void Engine::resume() { fanout_.submit_resume(); }

EngineStats Engine::stats() const {
  EngineStats stats;
  stats.frames_in = frames_in_.load();
  stats.frames_rejected = frames_rejected_.load();
  stats.frames_published = frames_published_.load();
  stats.frames_overflowed = fanout_.overflowed();
  {
    // Each viewer counts only into its own counters (no cache line shared by
    // every viewer on every write); the totals are summed when asked for.
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    stats.frames_sent = retired_.frames_sent;
    stats.frames_dropped = retired_.frames_dropped;
    stats.bytes_served = retired_.bytes_sent;
    for (const auto &viewer : viewers_) {
      const ViewerCounters &counters = viewer->counters();
      stats.frames_sent += counters.frames_sent.load(std::memory_order_relaxed);
      stats.frames_dropped += counters.frames_dropped.load(std::memory_order_relaxed);
      stats.bytes_served += counters.bytes_sent.load(std::memory_order_relaxed);
    }
  }
  stats.viewers_total = viewers_total_.load();
  stats.viewers_now = active_.load();
  return stats;
}

void Engine::count_input(bool accepted) {
  frames_in_.fetch_add(1, std::memory_order_relaxed);
  if (!accepted) frames_rejected_.fetch_add(1, std::memory_order_relaxed);
}

StatsSnapshot Engine::snapshot() const {
  const EngineStats totals = stats();
  StatsSnapshot snapshot;
  snapshot.element_name = config_.mount.element_name;
  const int64_t now_us = g_get_monotonic_time();
  const int64_t now_wall_us = g_get_real_time();
  snapshot.uptime_seconds = static_cast<double>(now_us - started_monotonic_us_) / G_USEC_PER_SEC;
  snapshot.frames_in = totals.frames_in;
  snapshot.frames_rejected = totals.frames_rejected;
  snapshot.frames_published = totals.frames_published;
  snapshot.frames_overflowed = totals.frames_overflowed;
  snapshot.frames_sent = totals.frames_sent;
  snapshot.frames_dropped = totals.frames_dropped;
  snapshot.bytes_served = totals.bytes_served;
  snapshot.viewers_total = totals.viewers_total;
  snapshot.viewers_now = totals.viewers_now;
  // Only atomics are read under the lock: a viewer stuck in a write never
  // holds viewers_mutex_, so this cannot wait on one.
  std::lock_guard<std::mutex> lock(viewers_mutex_);
  snapshot.viewers.reserve(viewers_.size());
  for (const auto &viewer : viewers_) {
    if (viewer->finished()) continue;
    const ClientInfo &info = viewer->info();
    const ViewerCounters &counters = viewer->counters();
    ViewerSnapshot entry;
    entry.id = info.id;
    entry.address = info.address;
    entry.user_agent = info.user_agent;
    entry.connected_us = info.connected_us;
    entry.connected_seconds = static_cast<double>(now_wall_us - info.connected_us) / G_USEC_PER_SEC;
    entry.fps = counters.send_rate.rate(now_us / 1000, counters.started_monotonic_ms);
    entry.frames_sent = counters.frames_sent.load(std::memory_order_relaxed);
    entry.frames_dropped = counters.frames_dropped.load(std::memory_order_relaxed);
    entry.bytes_sent = counters.bytes_sent.load(std::memory_order_relaxed);
    entry.queue_depth = counters.queue_depth.load(std::memory_order_relaxed);
    snapshot.viewers.push_back(std::move(entry));
  }
  return snapshot;
}

bool Engine::reserve_viewer() {
  std::lock_guard<std::mutex> lock(viewers_mutex_);
  if (config_.max_clients > 0 && reserved_ >= config_.max_clients) return false;
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

void Engine::adopt_viewer(GIOStream *connection, GSocket *socket, ClientInfo info) {
  reap_finished();
  info.id = next_viewer_id_.fetch_add(1);
  ClientEnvironment env;
  env.dispatcher = &dispatcher_;
  env.format = &format_;
  env.queue_capacity = config_.max_queued_frames;
  env.queue_policy = config_.queue_policy;
  env.client_timeout_ms = config_.client_timeout_ms;
  // A resend every few milliseconds would multiply every viewer's bandwidth
  // for nothing: below kMinIdleResendMs the period is raised to it.
  env.idle_resend_ms = config_.idle_resend_ms == 0
                           ? 0
                           : std::max(config_.idle_resend_ms, kMinIdleResendMs);
  env.stop_fd = stop_fd_;
  env.latest = &latest_;
  env.tls = config_.server.tls_certificate != nullptr;
  auto viewer = std::make_unique<ClientThread>(
      std::move(info), connection, socket, env,
      [this](const ClientInfo &i) { on_viewer_started(i); },
      [this](const ClientInfo &i) { on_viewer_finished(i); });
  ClientThread *raw = viewer.get();
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

void Engine::on_viewer_started(const ClientInfo &info) {
  active_.fetch_add(1);
  viewers_total_.fetch_add(1);
  log(LogLevel::kDebug, "viewer " + std::to_string(info.id) + " " + info.address + " connected");
  if (hooks_.client_added) hooks_.client_added(info);
}

void Engine::on_viewer_finished(const ClientInfo &info) {
  {
    std::lock_guard<std::mutex> lock(viewers_mutex_);
    if (reserved_ > 0) reserved_--;
    if (info.announced) active_.fetch_sub(1);
  }
  viewers_changed_.notify_all();
  if (!info.announced) return;
  log(LogLevel::kDebug, "viewer " + std::to_string(info.id) + " " + info.address + " left");
  if (hooks_.client_removed) hooks_.client_removed(info);
}

void Engine::retire(const ClientThread &viewer) {
  const ViewerCounters &counters = viewer.counters();
  retired_.frames_sent += counters.frames_sent.load(std::memory_order_relaxed);
  retired_.frames_dropped += counters.frames_dropped.load(std::memory_order_relaxed);
  retired_.bytes_sent += counters.bytes_sent.load(std::memory_order_relaxed);
}

void Engine::reap_finished() {
  std::list<std::unique_ptr<ClientThread>> done;
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
