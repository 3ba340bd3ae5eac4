// SPDX-License-Identifier: LGPL-2.1-or-later
// Real JPEG frames for the tests, encoded at test time by GStreamer itself,
// and the GstBuffers that carry them into the element.
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace element_test {

using Bytes = std::string;

// `count` frames of videotestsrc `pattern` encoded by jpegenc. Empty on
// failure.
std::vector<Bytes> encode_jpegs(int count, const char *pattern, int width = 160,
                                int height = 120);

// `jpeg` with a JPEG comment segment carrying `tag` right after SOI: still a
// valid JPEG, and different for every tag, so a test can tell frames apart
// even when the encoder produced identical pictures.
Bytes tag_jpeg(const Bytes &jpeg, unsigned tag);

// `count` distinct JPEGs.
std::vector<Bytes> distinct_jpegs(int count, const char *pattern = "ball");

// A buffer holding a copy of `bytes` in one memory.
GstBuffer *buffer_from_bytes(const Bytes &bytes);

// A buffer holding a copy of `bytes` split into one memory per piece, cut at
// the given offsets (strictly increasing, inside the data).
GstBuffer *buffer_in_memories(const Bytes &bytes, std::initializer_list<size_t> cuts);

}  // namespace element_test
