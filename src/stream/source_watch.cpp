// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/source_watch.h"

#include <glib.h>
#include <pthread.h>

namespace mjpeghttp {

void SourceWatch::start(unsigned timeout_ms, Hooks hooks) {
  timeout_ms_ = timeout_ms;
  hooks_ = std::move(hooks);
  started_us_ = g_get_monotonic_time();
  last_frame_us_.store(0);
  online_.store(false);
  stopping_ = false;
  if (timeout_ms_ > 0) thread_ = std::thread([this] { run(); });
}

void SourceWatch::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void SourceWatch::frame_arrived(int64_t now_us) {
  // The time first, then the state: the watch thread never takes a frame
  // that is already counted for one that is late.
  last_frame_us_.store(now_us, std::memory_order_release);
  if (online_.exchange(true, std::memory_order_acq_rel)) return;
  // Under the lock, so the wake-up cannot fall between the watch thread's
  // check and its wait.
  std::lock_guard<std::mutex> lock(mutex_);
  changed_.notify_all();
}

void SourceWatch::run() {
  pthread_setname_np(pthread_self(), "mjpeg-source");
  const int64_t timeout_us = static_cast<int64_t>(timeout_ms_) * 1000;
  const int64_t tick_us = kTickMs * 1000;
  std::unique_lock<std::mutex> lock(mutex_);
  // went_offline ran and came_online has not run since.
  bool offline_announced = false;
  int64_t next_tick_us = 0;
  while (!stopping_) {
    const int64_t now = g_get_monotonic_time();
    const int64_t last = last_frame_us_.load(std::memory_order_acquire);
    int64_t wake_at;
    if (online_.load(std::memory_order_acquire)) {
      if (offline_announced) {
        offline_announced = false;
        lock.unlock();
        if (hooks_.came_online) hooks_.came_online();
        lock.lock();
        continue;
      }
      wake_at = last + timeout_us;
      if (now >= wake_at) {
        // A frame stored after `last` was read keeps the source online.
        bool was_online = true;
        if (last_frame_us_.load(std::memory_order_acquire) == last)
          online_.compare_exchange_strong(was_online, false, std::memory_order_acq_rel);
        continue;
      }
    } else if (!offline_announced) {
      wake_at = (last ? last : started_us_) + timeout_us;
      if (now >= wake_at) {
        offline_announced = true;
        const int64_t lost_at_us = last ? g_get_real_time() - (now - last) : 0;
        lock.unlock();
        if (hooks_.went_offline) hooks_.went_offline(lost_at_us);
        lock.lock();
        next_tick_us = g_get_monotonic_time() + tick_us;
        continue;
      }
    } else {
      wake_at = next_tick_us;
      if (now >= wake_at) {
        lock.unlock();
        if (hooks_.offline_tick) hooks_.offline_tick();
        lock.lock();
        next_tick_us = g_get_monotonic_time() + tick_us;
        continue;
      }
    }
    changed_.wait_for(lock, std::chrono::microseconds(wake_at - now));
  }
}

}  // namespace mjpeghttp
