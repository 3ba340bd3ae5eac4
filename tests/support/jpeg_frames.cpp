// SPDX-License-Identifier: LGPL-2.1-or-later
#include "jpeg_frames.h"

#include <gst/app/gstappsink.h>

namespace test_support {

std::vector<Bytes> encode_jpegs(int count, const char *pattern, int width, int height) {
  std::vector<Bytes> frames;
  gchar *description = g_strdup_printf(
      "videotestsrc num-buffers=%d pattern=%s ! video/x-raw,width=%d,height=%d,framerate=30/1 "
      "! jpegenc ! appsink name=out sync=false",
      count, pattern, width, height);
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description, &error);
  g_free(description);
  if (!pipeline) {
    g_printerr("cannot build the JPEG encoding pipeline: %s\n", error ? error->message : "?");
    g_clear_error(&error);
    return frames;
  }
  GstElement *out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  for (int i = 0; i < count; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 10 * GST_SECOND);
    if (!sample) break;
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      frames.emplace_back(reinterpret_cast<const char *>(map.data), map.size);
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(out);
  gst_object_unref(pipeline);
  if (frames.size() != static_cast<size_t>(count)) frames.clear();
  return frames;
}

std::vector<Bytes> distinct_jpegs(int count, const char *pattern) {
  std::vector<Bytes> frames = encode_jpegs(count, pattern);
  for (size_t i = 0; i < frames.size(); i++)
    frames[i] = stamp_jpeg(frames[i], static_cast<unsigned>(i));
  return frames;
}

GstBuffer *buffer_from_bytes(const Bytes &bytes) {
  return gst_buffer_new_memdup(bytes.data(), bytes.size());
}

GstBuffer *buffer_in_memories(const Bytes &bytes, std::initializer_list<size_t> cuts) {
  GstBuffer *buffer = gst_buffer_new();
  size_t start = 0;
  std::vector<size_t> ends(cuts);
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    const gsize size = end - start;
    gpointer copy = g_memdup2(bytes.data() + start, size);
    gst_buffer_append_memory(buffer, gst_memory_new_wrapped(static_cast<GstMemoryFlags>(0), copy,
                                                            size, 0, size, copy, g_free));
    start = end;
  }
  return buffer;
}

}  // namespace test_support
