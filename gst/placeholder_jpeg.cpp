// SPDX-License-Identifier: LGPL-2.1-or-later
#include "placeholder_jpeg.h"

#include "stream/multipart.h"
#include "stream/placeholder_picture.h"

namespace {

// Encoding one small picture takes milliseconds; this only bounds a broken
// encoder.
constexpr GstClockTime kEncodeLimit = 5 * GST_SECOND;

}  // namespace

std::string make_no_signal_jpeg(unsigned width, unsigned height, gint64 lost_at_us,
                                std::string *error) {
  const mjpeghttp::GreyPicture picture = mjpeghttp::draw_no_signal(width, height, lost_at_us);
  gchar *description = g_strdup_printf(
      "appsrc name=src format=time caps=video/x-raw,format=GRAY8,width=%u,height=%u,"
      "framerate=0/1 ! jpegenc ! appsink name=sink sync=false",
      picture.width, picture.height);
  GError *parse_error = nullptr;
  GstElement *pipeline = gst_parse_launch(description, &parse_error);
  g_free(description);
  if (!pipeline || parse_error) {
    *error = std::string("cannot build the placeholder encoder: ") +
             (parse_error ? parse_error->message : "unknown error");
    g_clear_error(&parse_error);
    if (pipeline) gst_object_unref(pipeline);
    return "";
  }
  GstElement *source = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  std::string jpeg;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "cannot start the placeholder encoder";
  } else {
    GstBuffer *raw = gst_buffer_new_memdup(picture.pixels.data(), picture.pixels.size());
    GST_BUFFER_PTS(raw) = 0;
    GstFlowReturn flow = GST_FLOW_OK;
    // Action signals: no link to the app library needed.
    g_signal_emit_by_name(source, "push-buffer", raw, &flow);
    gst_buffer_unref(raw);
    g_signal_emit_by_name(source, "end-of-stream", &flow);
    GstSample *sample = nullptr;
    g_signal_emit_by_name(sink, "try-pull-sample", kEncodeLimit, &sample);
    GstBuffer *encoded = sample ? gst_sample_get_buffer(sample) : nullptr;
    GstMapInfo map;
    if (encoded && gst_buffer_map(encoded, &map, GST_MAP_READ)) {
      jpeg.assign(reinterpret_cast<const char *>(map.data), map.size);
      gst_buffer_unmap(encoded, &map);
    } else {
      *error = "the placeholder encoder produced nothing";
    }
    if (sample) gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(source);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return jpeg;
}

std::string read_placeholder_file(const std::string &path, std::string *error) {
  gchar *contents = nullptr;
  gsize length = 0;
  GError *read_error = nullptr;
  if (!g_file_get_contents(path.c_str(), &contents, &length, &read_error)) {
    *error = read_error->message;
    g_error_free(read_error);
    return "";
  }
  std::string bytes(contents, length);
  g_free(contents);
  if (!mjpeghttp::looks_like_jpeg(reinterpret_cast<const guint8 *>(bytes.data()), bytes.size())) {
    *error = "'" + path + "' is not a JPEG file (no start-of-image marker)";
    return "";
  }
  return bytes;
}
