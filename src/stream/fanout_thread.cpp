// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/fanout_thread.h"

#include <pthread.h>

#include <utility>

namespace mjpeghttp {

FanoutThread::FanoutThread(Dispatcher &dispatcher) : dispatcher_(dispatcher) {}

FanoutThread::~FanoutThread() { stop(); }

void FanoutThread::start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread(&FanoutThread::run, this);
}

void FanoutThread::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  Item dropped[kMaxPending];
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < count_; i++) dropped[i] = std::move(ring_[(head_ + i) % kMaxPending]);
    head_ = 0;
    count_ = 0;
  }
  // `dropped` releases its frames here, outside the lock.
}

void FanoutThread::submit(FramePtr frame) { push({Kind::kFrame, std::move(frame)}); }

void FanoutThread::submit_end() { push({Kind::kEnd, nullptr}); }

void FanoutThread::submit_resume() { push({Kind::kResume, nullptr}); }

uint64_t FanoutThread::overflowed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return overflowed_;
}

void FanoutThread::push(Item item) {
  Item evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (count_ == kMaxPending) {
      // Evict the oldest frame, never an end or resume marker: losing one
      // would leave the stream ended (or never closed) for good.
      size_t victim = count_;
      for (size_t i = 0; i < count_ && victim == count_; i++)
        if (ring_[(head_ + i) % kMaxPending].kind == Kind::kFrame) victim = i;
      if (victim == count_) {
        // Nothing but markers waiting (flush storms): a new frame is the
        // one to go; a new marker still needs room, so the oldest marker
        // is superseded by the ones after it.
        if (item.kind == Kind::kFrame) {
          overflowed_++;
          return;
        }
        victim = 0;
      }
      evicted = std::move(ring_[(head_ + victim) % kMaxPending]);
      for (size_t i = victim; i + 1 < count_; i++)
        ring_[(head_ + i) % kMaxPending] = std::move(ring_[(head_ + i + 1) % kMaxPending]);
      count_--;
      if (evicted.kind == Kind::kFrame) overflowed_++;
    }
    ring_[(head_ + count_) % kMaxPending] = std::move(item);
    count_++;
  }
  wake_.notify_one();
}

void FanoutThread::run() {
  pthread_setname_np(pthread_self(), "mjpeg-fanout");
  Item batch[kMaxPending];
  for (;;) {
    size_t taken = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || count_ > 0; });
      if (stopping_) return;
      for (; count_ > 0; count_--, head_ = (head_ + 1) % kMaxPending)
        batch[taken++] = std::move(ring_[head_]);
    }
    for (size_t i = 0; i < taken; i++) {
      switch (batch[i].kind) {
        case Kind::kFrame:
          dispatcher_.publish(std::move(batch[i].frame));
          break;
        case Kind::kEnd:
          dispatcher_.end();
          break;
        case Kind::kResume:
          dispatcher_.resume();
          break;
      }
    }
  }
}

}  // namespace mjpeghttp
