// SPDX-License-Identifier: LGPL-2.1-or-later
// Who a viewer is: filled in by the HTTP front when it takes a /stream
// connection over, kept by the viewer's thread, reported in statistics and
// in the element's signals. Plain data, copied freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stats/leave_reason.h"

namespace mjpeghttp {

struct ViewerInfo {
  uint64_t id = 0;
  std::string address;  // "host:port" of the viewer
  std::string user_agent;
  int64_t connected_us = 0;  // wall clock, microseconds since the epoch
  double max_fps = 0;        // the viewer's own cap (?fps=N); 0 = none
  // ustreamer's ?advance_headers= (unset: the element's advance-headers).
  std::optional<bool> advance_headers;
  // ustreamer's ?dual_final_frames=1: the last frame before the source
  // pauses is sent twice, so browsers that show a part one late show it.
  bool dual_final_frames = false;
  // Set once the started hook ran; the finished hook runs either way.
  bool announced = false;
  // Why the viewer left: set by its thread before the finished hook runs.
  LeaveReason reason = LeaveReason::kClosed;
};

}  // namespace mjpeghttp
