// SPDX-License-Identifier: LGPL-2.1-or-later
// Caps one viewer's frame rate (/stream?fps=N) by skipping frames evenly:
// frames are judged by their timestamps against a fixed schedule, so a 30 fps
// source capped at 10 sends every third frame rather than bursts and gaps.
// Used by one viewer thread; not thread-safe.
#pragma once

#include <cstdint>

namespace mjpeghttp {

class FrameRateLimiter {
 public:
  // `max_fps` <= 0 admits every frame.
  explicit FrameRateLimiter(double max_fps);

  // True when the frame stamped `timestamp_us` is to be sent.
  bool admit(int64_t timestamp_us);

  // Highest rate a viewer may ask for; beyond it a cap means nothing.
  static constexpr double kMaxFps = 1000.0;
  // Lowest: a frame every 100 s. Below it a cap is a way to hold a viewer
  // slot while being sent nothing, not a frame rate anyone watches.
  static constexpr double kMinFps = 0.01;

 private:
  int64_t interval_us_;
  int64_t next_due_us_ = 0;
  bool started_ = false;
  int64_t last_seen_us_ = 0;  // timestamp of the previous frame offered
  bool seen_any_ = false;
};

}  // namespace mjpeghttp
