// SPDX-License-Identifier: LGPL-2.1-or-later
// Whether the source still sends frames: online while a frame arrived within
// the timeout. Its own thread notices the silence (nothing else runs when no
// frame comes) and, while the source is offline, ticks about once a second so
// the engine can send every viewer a placeholder picture. A frame flips the
// state back to online at once, on the thread that publishes it.
//
// frame_arrived() is for the one publishing thread; online() and
// last_frame_us() for any thread; start()/stop() must not race each other.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace mjpeghttp {

class SourceWatch {
 public:
  struct Hooks {
    // The source went silent (or sent nothing since start). `lost_at_us` is
    // the wall-clock time of its last frame, 0 when there was none.
    std::function<void(int64_t lost_at_us)> went_offline;
    // About every kTickMs after went_offline while offline (went_offline
    // sends the first placeholder itself, before it tells anyone).
    std::function<void()> offline_tick;
    // Frames came back after went_offline.
    std::function<void()> came_online;
  };

  // Between two placeholder pictures: often enough that a viewer sees the
  // picture promptly, rarely enough to cost nothing.
  static constexpr int64_t kTickMs = 1000;

  SourceWatch() = default;
  ~SourceWatch() { stop(); }
  SourceWatch(const SourceWatch &) = delete;
  SourceWatch &operator=(const SourceWatch &) = delete;

  // `timeout_ms` 0: no thread; online from the first frame on, for good.
  void start(unsigned timeout_ms, Hooks hooks);
  void stop();

  // At `now_us` (monotonic). Costs one atomic store; takes the lock only
  // when the state flips.
  void frame_arrived(int64_t now_us);
  bool online() const { return online_.load(std::memory_order_acquire); }
  // Monotonic time of the last frame in microseconds, 0 before the first.
  int64_t last_frame_us() const { return last_frame_us_.load(std::memory_order_acquire); }

 private:
  void run();

  unsigned timeout_ms_ = 0;
  Hooks hooks_;
  int64_t started_us_ = 0;
  std::atomic<int64_t> last_frame_us_{0};
  std::atomic<bool> online_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mjpeghttp
