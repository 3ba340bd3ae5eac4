// SPDX-License-Identifier: LGPL-2.1-or-later
// A JPEG frame shared, never copied, by every viewer: the bytes stay in the
// producer's memory (for the element, the GstBuffer's memories) until the last
// viewer that holds the frame drops it, at which point `release` runs.
// Immutable after construction, so any thread may read it without a lock.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mjpeghttp {

struct Frame {
  Frame() = default;
  Frame(const Frame &) = delete;
  Frame &operator=(const Frame &) = delete;
  ~Frame() {
    if (release) release();
  }

  // The JPEG as one or more read-only byte ranges, in order.
  std::vector<iovec> chunks;
  size_t size = 0;
  // Wall-clock time of the frame in microseconds since the Unix epoch.
  int64_t timestamp_us = 0;
  // Numbers frames in publication order, starting at 1.
  uint64_t sequence = 0;
  // The part headers ("Content-Type..." up to the blank line), built once per
  // frame by the engine so viewers share them instead of formatting their own.
  std::string part_header;
  // When it was published (monotonic, microseconds): its age in X-Frame-Age.
  int64_t published_us = 0;
  // The "no signal" picture sent while the source is offline, not a frame of
  // the source.
  bool placeholder = false;
  // Gives the bytes back to their owner; runs on whichever thread drops the
  // last reference (a viewer thread, the dispatcher or the HTTP thread).
  std::function<void()> release;
};

using FramePtr = std::shared_ptr<Frame>;

}  // namespace mjpeghttp
