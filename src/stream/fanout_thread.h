// SPDX-License-Identifier: LGPL-2.1-or-later
// Takes frames off the streaming thread: publish() only drops the frame into
// a small mailbox and wakes one thread, which does the O(viewers) fan-out
// through the Dispatcher. So the cost of rendering a buffer does not grow
// with the number of viewers, and the streaming thread never waits for the
// kernel to wake hundreds of viewer threads.
//
// submit*() are thread-safe and never block on viewers. start()/stop() are
// called by the engine, not concurrently with each other.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "stream/dispatcher.h"
#include "stream/frame.h"

namespace mjpeghttp {

class FanoutThread {
 public:
  explicit FanoutThread(Dispatcher &dispatcher);
  ~FanoutThread();
  FanoutThread(const FanoutThread &) = delete;
  FanoutThread &operator=(const FanoutThread &) = delete;

  void start();
  // Joins the thread; what was not fanned out yet is dropped.
  void stop();

  // Queues a frame for every viewer. If the fan-out falls kMaxPending
  // frames behind, the oldest waiting frame is dropped for everyone.
  void submit(FramePtr frame);
  // Queues the end of the stream (after the frames submitted before it).
  void submit_end();
  // Queues the stream's resumption after a flush.
  void submit_resume();

  uint64_t overflowed() const;

  static constexpr size_t kMaxPending = 8;

 private:
  enum class Kind { kFrame, kEnd, kResume };
  struct Item {
    Kind kind = Kind::kFrame;
    FramePtr frame;
  };

  void push(Item item);
  void run();

  Dispatcher &dispatcher_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Item ring_[kMaxPending];
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t overflowed_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mjpeghttp
