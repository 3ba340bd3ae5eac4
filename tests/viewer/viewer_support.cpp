// SPDX-License-Identifier: LGPL-2.1-or-later
#include "viewer_support.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "await.h"

namespace viewer_test {

using test_support::await_condition;

LiveSource::LiveSource(int fps) {
  gchar *description = g_strdup_printf(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=%d/1 "
      "! jpegenc ! mjpeghttpsink name=sink port=0 max-queued-frames=64",
      fps);
  GError *error = nullptr;
  pipeline_ = gst_parse_launch(description, &error);
  g_free(description);
  // A missing element is a "recoverable" error: a pipeline comes back
  // without it.
  fail_unless(pipeline_ != nullptr && error == nullptr, "cannot build the live pipeline: %s",
              error ? error->message : "?");
  sink_ = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
  fail_unless(sink_ != nullptr, "mjpeghttpsink is missing: is GST_PLUGIN_PATH set?");
}

LiveSource::~LiveSource() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  gst_object_unref(sink_);
  gst_object_unref(pipeline_);
}

bool LiveSource::play() {
  return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE &&
         port() > 0 && await_condition([this] { return stat("frames-published") > 0; });
}

int LiveSource::port() const {
  gint port = 0;
  g_object_get(sink_, "current-port", &port, nullptr);
  return port;
}

guint64 LiveSource::stat(const char *field) const {
  GstStructure *stats = nullptr;
  g_signal_emit_by_name(sink_, "get-stats", &stats);
  fail_unless(stats != nullptr, "get-stats returned nothing");
  guint64 value = 0;
  fail_unless(gst_structure_get_uint64(stats, field, &value), "no stat %s", field);
  gst_structure_free(stats);
  return value;
}

std::vector<Arrival> record_arrivals(const test_support::RawViewer &viewer, size_t first,
                                     size_t count, int timeout_ms) {
  std::vector<Arrival> arrivals;
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
  for (size_t index = first; index < first + count; index++) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0 || !viewer.await_parts(index + 1, static_cast<int>(left_ms))) break;
    arrivals.push_back({g_get_real_time(), g_get_monotonic_time()});
  }
  return arrivals;
}

gint64 part_timestamp_us(const test_support::StreamPart &part) {
  auto it = part.headers.find("x-timestamp");
  fail_unless(it != part.headers.end(), "a part without X-Timestamp");
  const std::string &text = it->second;
  const size_t dot = text.find('.');
  fail_unless(dot != std::string::npos && text.size() == dot + 7, "X-Timestamp '%s'", text.c_str());
  char *end = nullptr;
  const long long seconds = std::strtoll(text.c_str(), &end, 10);
  fail_unless(end == text.c_str() + dot, "X-Timestamp '%s'", text.c_str());
  const long long micros = std::strtoll(text.c_str() + dot + 1, &end, 10);
  fail_unless(*end == '\0', "X-Timestamp '%s'", text.c_str());
  return static_cast<gint64>(seconds) * G_USEC_PER_SEC + micros;
}

Decoded decode_with_jpegdec(const Bytes &jpeg) {
  Decoded decoded;
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(
      "appsrc name=in caps=image/jpeg ! jpegdec ! appsink name=out sync=false", &error);
  if (!pipeline) {
    decoded.error = error ? error->message : "cannot build the decoding pipeline";
    g_clear_error(&error);
    return decoded;
  }
  GstElement *in = gst_bin_get_by_name(GST_BIN(pipeline), "in");
  GstElement *out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer(GST_APP_SRC(in), test_support::buffer_from_bytes(jpeg));
  gst_app_src_end_of_stream(GST_APP_SRC(in));
  GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 10 * GST_SECOND);
  if (sample) {
    GstStructure *caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    decoded.ok = gst_structure_get_int(caps, "width", &decoded.width) &&
                 gst_structure_get_int(caps, "height", &decoded.height);
    gst_sample_unref(sample);
  } else {
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (message) {
      gst_message_parse_error(message, &error, nullptr);
      decoded.error = error->message;
      g_clear_error(&error);
      gst_message_unref(message);
    } else {
      decoded.error = "no decoded frame";
    }
    gst_object_unref(bus);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(in);
  gst_object_unref(out);
  gst_object_unref(pipeline);
  return decoded;
}

std::string temporary_path(const char *suffix) {
  gchar *path = nullptr;
  const std::string pattern = std::string("viewer-test-XXXXXX") + suffix;
  const int fd = g_file_open_tmp(pattern.c_str(), &path, nullptr);
  fail_unless(fd >= 0, "cannot create a temporary file");
  close(fd);
  std::string result = path;
  g_free(path);
  return result;
}

}  // namespace viewer_test
