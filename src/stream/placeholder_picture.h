// SPDX-License-Identifier: LGPL-2.1-or-later
// The "NO SIGNAL" picture shown while the source is offline, drawn as 8-bit
// grey pixels (the element encodes them as JPEG): large "NO SIGNAL" and, when
// known, the time the signal was lost, in a built-in bitmap font, so the
// picture needs no font library. Pure; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mjpeghttp {

struct GreyPicture {
  unsigned width = 0;
  unsigned height = 0;
  std::vector<uint8_t> pixels;  // width * height, row after row
};

// `lost_at_us`: wall clock in microseconds since the epoch; 0 = never had a
// frame (no time line). Sizes below 16x16 are raised to it.
GreyPicture draw_no_signal(unsigned width, unsigned height, int64_t lost_at_us);

// "SINCE 2026-12-02 12:34:56 UTC" for the picture.
std::string no_signal_time_line(int64_t lost_at_us);

}  // namespace mjpeghttp
