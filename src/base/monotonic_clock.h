// SPDX-License-Identifier: LGPL-2.1-or-later
// The one clock the viewer threads time waits, stalls and resends by:
// monotonic, so a wall-clock jump never looks like a stall.
#pragma once

#include <chrono>
#include <cstdint>

namespace mjpeghttp {

inline int64_t monotonic_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace mjpeghttp
