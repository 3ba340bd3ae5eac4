// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stats/rate_meter.h"

#include <algorithm>

namespace mjpeghttp {

void RateMeter::tick(int64_t now_ms) {
  const int64_t index = now_ms / kBucketMs;
  Bucket &bucket = buckets_[static_cast<size_t>(index % kWindowBuckets)];
  if (bucket.index.load(std::memory_order_relaxed) != index) {
    // Zero first, then claim: a reader that sees the new index sees a count
    // that belongs to it (or a tick more, not a whole stale bucket).
    bucket.count.store(0, std::memory_order_relaxed);
    bucket.index.store(index, std::memory_order_release);
  }
  bucket.count.fetch_add(1, std::memory_order_relaxed);
}

double RateMeter::rate(int64_t now_ms, int64_t started_ms) const {
  const int64_t current = now_ms / kBucketMs;
  uint64_t events = 0;
  for (const Bucket &bucket : buckets_) {
    const int64_t index = bucket.index.load(std::memory_order_acquire);
    if (index > current - kWindowBuckets && index <= current)
      events += bucket.count.load(std::memory_order_relaxed);
  }
  int64_t span_ms = (kWindowBuckets - 1) * kBucketMs + (now_ms - current * kBucketMs);
  span_ms = std::min(span_ms, now_ms - started_ms);
  // Under a bucket of history the rate is noise: say nothing yet.
  if (span_ms < kBucketMs) return 0.0;
  return static_cast<double>(events) * 1000.0 / static_cast<double>(span_ms);
}

}  // namespace mjpeghttp
