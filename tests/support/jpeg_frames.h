// SPDX-License-Identifier: LGPL-2.1-or-later
// Real JPEG frames for the tests, encoded at test time by GStreamer itself,
// and the GstBuffers that carry them into the element.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "jpeg_stamp.h"

namespace test_support {

using Bytes = std::string;

// `count` frames of videotestsrc `pattern` encoded by jpegenc. Empty on
// failure.
std::vector<Bytes> encode_jpegs(int count, const char *pattern, int width = 160, int height = 120);

// `count` distinct JPEGs, stamped 0, 1, 2, ... (jpeg_stamp.h).
std::vector<Bytes> distinct_jpegs(int count, const char *pattern = "ball");

// A buffer holding a copy of `bytes` in one memory.
GstBuffer *buffer_from_bytes(const Bytes &bytes);

// A buffer holding a copy of `bytes` split into one memory per piece, cut at
// the given offsets (strictly increasing, inside the data).
GstBuffer *buffer_in_memories(const Bytes &bytes, std::initializer_list<size_t> cuts);

}  // namespace test_support
