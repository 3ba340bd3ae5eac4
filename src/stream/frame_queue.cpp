// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/frame_queue.h"

#include <chrono>

namespace mjpeghttp {

void FrameQueue::share_doorbell(Doorbell *shared) {
  std::lock_guard<std::mutex> lock(mutex_);
  doorbell_ = shared ? shared : &own_doorbell_;
}

void FrameQueue::reset(size_t capacity, QueuePolicy policy, ViewerCounters *viewer) {
  std::vector<FramePtr> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old.swap(ring_);
    ring_.resize(capacity == 0 ? 1 : capacity);
    head_ = 0;
    count_ = 0;
    policy_ = policy;
    dropped_ = 0;
    viewer_ = viewer;
    publish_depth();
    ended_ = false;
    cancelled_ = false;
    overflowed_ = false;
  }
  // `old` releases its frames here, outside the lock.
}

FramePtr FrameQueue::push(const FramePtr &frame, bool ring) {
  FramePtr evicted;
  Doorbell *doorbell;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    doorbell = doorbell_;
    if (ended_ || cancelled_ || overflowed_) return nullptr;
    const size_t capacity = ring_.size();
    if (count_ == capacity) {
      switch (policy_) {
        case QueuePolicy::kDropOldest:
          evicted = std::move(ring_[head_]);
          head_ = (head_ + 1) % capacity;
          count_--;
          count_drop();
          break;
        case QueuePolicy::kDropNewest:
          count_drop();
          return nullptr;
        case QueuePolicy::kDisconnect:
          overflowed_ = true;
          break;
      }
    }
    if (!overflowed_) {
      ring_[(head_ + count_) % capacity] = frame;
      count_++;
    }
    publish_depth();
  }
  if (ring) doorbell->ring();
  return evicted;
}

void FrameQueue::end(bool ring) {
  Doorbell *doorbell;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    doorbell = doorbell_;
  }
  if (ring) doorbell->ring();
}

void FrameQueue::cancel(bool ring) {
  Doorbell *doorbell;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    doorbell = doorbell_;
  }
  if (ring) doorbell->ring();
}

FrameQueue::Event FrameQueue::pop(FramePtr &out, int max_wait_ms) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(max_wait_ms);
  for (;;) {
    // Read before looking: a ring after this makes the wait return at once.
    Doorbell *doorbell;
    uint32_t seen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      doorbell = doorbell_;
      seen = doorbell->state();
      if (cancelled_) return Event::kCancel;
      if (overflowed_) return Event::kOverflow;
      if (count_ > 0) {
        out = std::move(ring_[head_]);
        head_ = (head_ + 1) % ring_.size();
        count_--;
        publish_depth();
        return Event::kFrame;
      }
      if (ended_) return Event::kEnd;
    }
    int wait_ms = -1;
    if (max_wait_ms >= 0) {
      const Clock::duration left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) return Event::kIdle;
      // Rounded up: rounded down, the last fraction of a millisecond became
      // a zero wait and an idle return before the deadline, which made a
      // caller timing "idle for N ms" from its own clock wait N ms more.
      wait_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    doorbell->wait(seen, wait_ms);
  }
}

bool FrameQueue::take_newest(FramePtr &out) {
  std::vector<FramePtr> skipped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (count_ == 0 || cancelled_ || overflowed_) return false;
    const size_t capacity = ring_.size();
    while (count_ > 1) {
      skipped.push_back(std::move(ring_[head_]));
      head_ = (head_ + 1) % capacity;
      count_--;
      count_drop();
    }
    out = std::move(ring_[head_]);
    head_ = (head_ + 1) % capacity;
    count_ = 0;
    publish_depth();
  }
  // `skipped` releases its frames here, outside the lock.
  return true;
}

bool FrameQueue::stop_requested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_ || overflowed_;
}

bool FrameQueue::overflowed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return overflowed_;
}

size_t FrameQueue::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

void FrameQueue::count_drop() {
  dropped_++;
  if (viewer_) viewer_->frames_dropped.fetch_add(1, std::memory_order_relaxed);
}

// Under mutex_: readers of the statistics must not take a viewer's lock.
void FrameQueue::publish_depth() {
  if (viewer_) viewer_->queue_depth.store(count_, std::memory_order_relaxed);
}

uint64_t FrameQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace mjpeghttp
