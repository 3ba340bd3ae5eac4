// SPDX-License-Identifier: LGPL-2.1-or-later
#include "placeholder_jpeg.h"

#include "stream/multipart.h"
#include "stream/placeholder_picture.h"

namespace {

// The encoder's output, as it comes out of jpegenc on the pushing thread.
GstFlowReturn collect_encoded(GstPad *pad, GstObject *, GstBuffer *buffer) {
  auto *jpeg = static_cast<std::string *>(gst_pad_get_element_private(pad));
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    jpeg->append(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(buffer, &map);
  }
  gst_buffer_unref(buffer);
  return GST_FLOW_OK;
}

}  // namespace

// jpegenc alone, fed and drained through two pads of our own on the calling
// thread: no pipeline, so no streaming task and no GStreamer thread pool.
// A pipeline's appsrc task started from the source-watch thread could meet
// gst_task_cleanup_all() (which gst-check runs at the end of every test)
// and deadlock on the task pool; and one picture needs no thread anyway.
std::string make_no_signal_jpeg(unsigned width, unsigned height, gint64 lost_at_us,
                                std::string *error) {
  const mjpeghttp::GreyPicture picture = mjpeghttp::draw_no_signal(width, height, lost_at_us);
  GstElement *encoder = gst_element_factory_make("jpegenc", nullptr);
  if (!encoder) {
    *error = "cannot encode the placeholder: no jpegenc (gst-plugins-good)";
    return "";
  }
  gst_object_ref_sink(encoder);
  std::string jpeg;
  bool encoded = false;
  GstPad *feed = gst_pad_new("feed", GST_PAD_SRC);
  GstPad *collect = gst_pad_new("collect", GST_PAD_SINK);
  gst_pad_set_chain_function(collect, collect_encoded);
  gst_pad_set_element_private(collect, &jpeg);
  GstPad *encoder_sink = gst_element_get_static_pad(encoder, "sink");
  GstPad *encoder_src = gst_element_get_static_pad(encoder, "src");
  const bool linked = gst_pad_link(feed, encoder_sink) == GST_PAD_LINK_OK &&
                      gst_pad_link(encoder_src, collect) == GST_PAD_LINK_OK;
  gst_pad_set_active(feed, TRUE);
  gst_pad_set_active(collect, TRUE);
  if (!linked || gst_element_set_state(encoder, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "cannot start the placeholder encoder";
  } else {
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "GRAY8", "width",
                                        G_TYPE_INT, static_cast<int>(picture.width), "height",
                                        G_TYPE_INT, static_cast<int>(picture.height), "framerate",
                                        GST_TYPE_FRACTION, 0, 1, nullptr);
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(feed, gst_event_new_stream_start("mjpeghttpsink-no-signal"));
    gst_pad_push_event(feed, gst_event_new_caps(caps));
    gst_caps_unref(caps);
    gst_pad_push_event(feed, gst_event_new_segment(&segment));
    GstBuffer *raw = gst_buffer_new_memdup(picture.pixels.data(), picture.pixels.size());
    GST_BUFFER_PTS(raw) = 0;
    const GstFlowReturn flow = gst_pad_push(feed, raw);
    // Drains a frame an encoder might hold back.
    gst_pad_push_event(feed, gst_event_new_eos());
    encoded = flow == GST_FLOW_OK && !jpeg.empty();
    if (!encoded)
      *error =
          std::string("the placeholder encoder produced nothing (") + gst_flow_get_name(flow) + ")";
  }
  gst_element_set_state(encoder, GST_STATE_NULL);
  gst_pad_set_active(feed, FALSE);
  gst_pad_set_active(collect, FALSE);
  gst_pad_unlink(feed, encoder_sink);
  gst_pad_unlink(encoder_src, collect);
  gst_object_unref(encoder_sink);
  gst_object_unref(encoder_src);
  gst_object_unref(feed);
  gst_object_unref(collect);
  gst_object_unref(encoder);
  return encoded ? jpeg : "";
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
