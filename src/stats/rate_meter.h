// SPDX-License-Identifier: LGPL-2.1-or-later
// Events per second over the last few seconds, from one writer thread and any
// number of reader threads, without a lock: the writer counts into short time
// buckets, a reader sums the recent ones. A reader racing a bucket's reuse may
// miscount that one bucket; fine for statistics, and no thread ever waits.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace mjpeghttp {

class RateMeter {
 public:
  static constexpr int64_t kBucketMs = 250;
  // The rate covers this many buckets, the current (partial) one included.
  static constexpr int kWindowBuckets = 12;

  // Writer side: one event at `now_ms` (a monotonic clock).
  void tick(int64_t now_ms);
  // Events per second over the window ending at `now_ms`, or since
  // `started_ms` when that is more recent.
  double rate(int64_t now_ms, int64_t started_ms) const;

 private:
  struct Bucket {
    std::atomic<int64_t> index{-1};  // now_ms / kBucketMs when it was last used
    std::atomic<uint32_t> count{0};
  };
  std::array<Bucket, kWindowBuckets> buckets_;
};

}  // namespace mjpeghttp
