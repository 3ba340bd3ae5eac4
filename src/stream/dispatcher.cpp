// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/dispatcher.h"

#include <algorithm>

namespace mjpeghttp {

Dispatcher::Attachment Dispatcher::attach(FrameQueue *queue) {
  std::lock_guard<std::mutex> lock(mutex_);
  Attachment result;
  if (shut_down_) return result;
  result.accepted = true;
  result.ended = ended_;
  queue->share_doorbell(&doorbell_);
  queues_.push_back(queue);
  return result;
}

void Dispatcher::detach(FrameQueue *queue) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find(queues_.begin(), queues_.end(), queue);
  if (it != queues_.end()) {
    *it = queues_.back();
    queues_.pop_back();
  }
  queue->share_doorbell(nullptr);
}

void Dispatcher::publish(FramePtr frame) {
  // Frames evicted from full queues are dropped only after the lock is
  // released: dropping the last reference gives the buffer back to its pool,
  // which has no business under our lock.
  std::vector<FramePtr> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (FrameQueue *queue : queues_) {
      FramePtr dropped = queue->push(frame, false);
      if (dropped) evicted.push_back(std::move(dropped));
    }
  }
  frame.reset();
  // Once for every viewer, after the frame is in every queue and the lock is
  // released: woken viewers do not find the dispatcher's lock held.
  doorbell_.ring();
}

void Dispatcher::end() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    for (FrameQueue *queue : queues_) queue->end(false);
  }
  // One ring for all, as in publish(): a ring per queue would wake every
  // sleeping viewer once per viewer.
  doorbell_.ring();
}

void Dispatcher::resume() {
  std::lock_guard<std::mutex> lock(mutex_);
  ended_ = false;
}

void Dispatcher::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shut_down_ = true;
    for (FrameQueue *queue : queues_) queue->cancel(false);
  }
  doorbell_.ring();
}

}  // namespace mjpeghttp
