// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/rate_limiter.h"

#include <algorithm>

namespace mjpeghttp {

FrameRateLimiter::FrameRateLimiter(double max_fps)
    : interval_us_(max_fps > 0 ? static_cast<int64_t>(1e6 / max_fps) : 0) {}

bool FrameRateLimiter::admit(int64_t timestamp_us) {
  if (interval_us_ <= 0) return true;
  // Source timestamps jitter: a frame slightly ahead of its slot still takes
  // it, or a cap at the source rate would skip frames. The tolerance is also
  // kept under half the source's own frame spacing, or at a low cap a whole
  // source frame would get in early.
  const int64_t spacing = seen_any_ ? timestamp_us - last_seen_us_ : 0;
  last_seen_us_ = timestamp_us;
  seen_any_ = true;
  int64_t tolerance = interval_us_ / 4;
  if (spacing > 0) tolerance = std::min(tolerance, spacing / 2);
  if (started_ && timestamp_us < next_due_us_ - tolerance) {
    // A timestamp far behind the schedule means the clock jumped back:
    // start over rather than skip until it catches up.
    if (next_due_us_ - timestamp_us <= 2 * interval_us_) return false;
    started_ = false;
  }
  // Advance along the schedule, so the average rate is exact; resync when
  // the stream fell behind it (a pause, a stall).
  if (!started_ || timestamp_us - next_due_us_ > interval_us_)
    next_due_us_ = timestamp_us + interval_us_;
  else
    next_due_us_ += interval_us_;
  started_ = true;
  return true;
}

}  // namespace mjpeghttp
