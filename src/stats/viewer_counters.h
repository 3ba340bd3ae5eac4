// SPDX-License-Identifier: LGPL-2.1-or-later
// One viewer's running totals. Written by the viewer's viewer thread (and its
// queue, on the dispatcher's side), read lock-free by whoever asks for
// statistics (HTTP thread, application thread). Owned by the ViewerThread, so
// it outlives the thread_local queue that also writes to it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "stats/rate_meter.h"

namespace mjpeghttp {

struct ViewerCounters {
  std::atomic<uint64_t> frames_sent{0};
  std::atomic<uint64_t> frames_dropped{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<size_t> queue_depth{0};
  RateMeter send_rate;
  int64_t started_monotonic_ms = 0;  // set before the thread starts
};

}  // namespace mjpeghttp
