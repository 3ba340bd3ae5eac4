// SPDX-License-Identifier: LGPL-2.1-or-later
// Fans every published frame out to the queues of all attached viewers (the
// engine's LatestFrame, not this, is what a new viewer and /snapshot get).
// publish() takes one short
// lock, does O(viewers) pointer pushes and never performs I/O, so the
// streaming thread cannot be held up by any viewer. Thread-safe.
//
// Lock order: Dispatcher::mutex_ before any FrameQueue's mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "stream/frame.h"
#include "stream/frame_queue.h"

namespace mjpeghttp {

class Dispatcher {
 public:
  struct Attachment {
    bool accepted = false;  // false once the dispatcher is shutting down
    bool ended = false;     // the stream already reached EOS
  };

  // Registers a queue; it receives every frame published until detach().
  Attachment attach(FrameQueue *queue);
  // Unregisters; after it returns the dispatcher never touches the queue.
  void detach(FrameQueue *queue);

  void publish(FramePtr frame);
  // EOS: every queue (and every later attach) is told the stream ended.
  void end();
  // Undoes end() (flush or restart after EOS).
  void resume();
  // Shutdown: every queue is cancelled and later attaches are refused.
  void shutdown();

 private:
  mutable std::mutex mutex_;
  // Every attached queue's reader waits on this; publish() rings it once
  // per frame, for all of them.
  Doorbell doorbell_;
  std::vector<FrameQueue *> queues_;
  bool ended_ = false;
  bool shut_down_ = false;
};

}  // namespace mjpeghttp
