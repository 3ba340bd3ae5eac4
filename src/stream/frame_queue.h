// SPDX-License-Identifier: LGPL-2.1-or-later
// A viewer's bounded queue of frames. The dispatcher pushes (never blocking:
// a full queue applies the policy instead of waiting) and the viewer's own
// viewer thread pops. Each viewer thread owns exactly one, as a thread_local
// (see viewer_queue_tls.h). All methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "stats/viewer_counters.h"
#include "stream/doorbell.h"
#include "stream/frame.h"

namespace mjpeghttp {

enum class QueuePolicy {
  // A full queue forgets its oldest frame, so a slow viewer always gets the
  // freshest one when it can take one again.
  kDropOldest = 0,
  // A full queue refuses the new frame: the viewer sees an uninterrupted run
  // of older frames, then skips ahead.
  kDropNewest = 1,
  // A full queue cuts the viewer off.
  kDisconnect = 2,
};

class FrameQueue {
 public:
  enum class Event {
    kFrame,     // `out` holds the next frame
    kEnd,       // the stream ended (EOS): send the closing part and leave
    kCancel,    // the server is stopping: leave at once
    kOverflow,  // the disconnect policy fired
    kIdle,      // nothing arrived within the wait
  };

  FrameQueue() = default;
  FrameQueue(const FrameQueue &) = delete;
  FrameQueue &operator=(const FrameQueue &) = delete;

  // Empties the queue and sets its bound (at least 1) and policy. `viewer`
  // (if given) gets this viewer's drops and queue depth as they happen.
  void reset(size_t capacity, QueuePolicy policy, ViewerCounters *viewer = nullptr);
  // The reader waits on `shared` (a dispatcher's, which rings it once for all
  // its queues) from now on, or on the queue's own with null. Called by
  // Dispatcher::attach()/detach(), which the reader itself calls, so the
  // reader is never asleep on the other one.
  void share_doorbell(Doorbell *shared);

  // Dispatcher side. Returns the frame the policy evicted, if any, so the
  // caller can drop it after every lock is released. With `ring` false the
  // caller rings the shared doorbell itself, once for many queues.
  FramePtr push(const FramePtr &frame, bool ring = true);
  void end(bool ring = true);
  void cancel(bool ring = true);

  // Client side: blocks until there is something to do, or returns kIdle
  // after `max_wait_ms` without anything to do (negative: wait for ever).
  Event pop(FramePtr &out, int max_wait_ms = -1);
  // Takes the newest queued frame and drops the older ones: what a viewer
  // that just caught up after a stall should see. False when empty or
  // stopping (pop() then reports why).
  bool take_newest(FramePtr &out);
  // True once the viewer must leave without finishing its current write
  // (cancelled, or cut off by the disconnect policy).
  bool stop_requested() const;
  // True once the disconnect policy fired: why a stop was requested.
  bool overflowed() const;

  size_t depth() const;
  uint64_t dropped() const;

 private:
  void count_drop();
  void publish_depth();

  mutable std::mutex mutex_;
  // The reader sleeps on this, not on a condition variable of its own.
  Doorbell own_doorbell_;
  Doorbell *doorbell_ = &own_doorbell_;
  std::vector<FramePtr> ring_;
  size_t head_ = 0;   // index of the oldest frame
  size_t count_ = 0;  // frames queued
  QueuePolicy policy_ = QueuePolicy::kDropOldest;
  uint64_t dropped_ = 0;
  ViewerCounters *viewer_ = nullptr;
  bool ended_ = false;
  bool cancelled_ = false;
  bool overflowed_ = false;
};

}  // namespace mjpeghttp
