// SPDX-License-Identifier: LGPL-2.1-or-later
// The newest frame published, set by the streaming thread the moment it
// publishes (before the fan-out runs) and read by the HTTP thread (/snapshot)
// and by viewer threads (the frame a new viewer starts with, idle resends,
// the closing part). One short lock; safe from any thread.
#pragma once

#include <mutex>
#include <utility>

#include "stream/frame.h"

namespace mjpeghttp {

class LatestFrame {
 public:
  // Returns the frame it replaces, for the caller to drop outside the lock.
  FramePtr replace(FramePtr frame) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(frame, frame_);
    return frame;
  }
  FramePtr get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return frame_;
  }

 private:
  mutable std::mutex mutex_;
  FramePtr frame_;
};

}  // namespace mjpeghttp
