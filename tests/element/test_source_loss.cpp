// SPDX-License-Identifier: LGPL-2.1-or-later
// Camera loss in a real pipeline (appsrc ! mjpeghttpsink): the bus messages,
// the generated "no signal" picture at the last frame's size, a placeholder
// file, and the new properties' defaults.
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <unistd.h>

#include <cstring>

#include "check_suite.h"
#include "jpeg_frames.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;

namespace {

constexpr guint kTimeoutMs = 200;
constexpr int kMessageLimitMs = 10000;

// The size a JPEG's frame header declares; 0x0 when there is none.
std::pair<unsigned, unsigned> jpeg_size(const std::string &jpeg) {
  size_t at = 2;
  while (at + 9 <= jpeg.size() && static_cast<unsigned char>(jpeg[at]) == 0xFF) {
    const unsigned marker = static_cast<unsigned char>(jpeg[at + 1]);
    const size_t length =
        (static_cast<unsigned char>(jpeg[at + 2]) << 8) | static_cast<unsigned char>(jpeg[at + 3]);
    if (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) {
      const auto byte = [&](size_t i) { return static_cast<unsigned char>(jpeg[at + i]); };
      return {(byte(7) << 8) | byte(8), (byte(5) << 8) | byte(6)};
    }
    at += 2 + length;
  }
  return {0, 0};
}

// The next element message named `name`; other messages are skipped.
bool await_element_message(SinkPipeline &pipeline, const char *name, std::string *lost_at) {
  const gint64 deadline = g_get_monotonic_time() + kMessageLimitMs * 1000;
  while (g_get_monotonic_time() < deadline) {
    GstMessage *message = pipeline.await_message(GST_MESSAGE_ELEMENT, 100);
    if (!message) continue;
    const GstStructure *details = gst_message_get_structure(message);
    const bool wanted = details && gst_structure_has_name(details, name);
    if (wanted && lost_at) {
      const char *text = gst_structure_get_string(details, "lost-at");
      *lost_at = text ? text : "";
    }
    gst_message_unref(message);
    if (wanted) return true;
  }
  return false;
}

}  // namespace

GST_START_TEST(test_defaults) {
  // A bare element: the test pipeline turns source-timeout off.
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", nullptr);
  fail_unless(sink != nullptr);
  gst_object_ref_sink(sink);
  guint timeout = 0;
  gchar *location = nullptr;
  gint method = -1;
  g_object_get(sink, "source-timeout", &timeout, "placeholder-location", &location, "auth-method",
               &method, nullptr);
  gst_object_unref(sink);
  fail_unless_equals_int(timeout, 2000);
  fail_unless_equals_string(location, "");
  fail_unless_equals_int(method, 0);  // basic
  g_free(location);
}
GST_END_TEST;

GST_START_TEST(test_loss_and_return) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "source-timeout", kTimeoutMs, nullptr);
  fail_unless(pipeline.play());
  const std::vector<Bytes> frames = encode_jpegs(2, "ball", 176, 144);
  fail_unless_equals_int(frames.size(), 2);
  fail_unless(pipeline.push_jpeg(frames[0]));
  fail_unless_equals_int(http_exchange(pipeline.port(), "GET", "/healthz").status, 200);

  std::string lost_at;
  fail_unless(await_element_message(pipeline, "mjpeghttpsink-source-offline", &lost_at),
              "no source-offline message");
  fail_unless(!lost_at.empty(), "the offline message does not say when the signal was lost");
  HttpResponse snapshot = http_exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.header("X-Source-Online") == "0");
  fail_unless(snapshot.body != frames[0], "the snapshot is still the last frame");
  // The generated picture has the last frame's size.
  const auto size = jpeg_size(snapshot.body);
  fail_unless(size.first == 176 && size.second == 144, "placeholder of %ux%u", size.first,
              size.second);
  fail_unless_equals_int(http_exchange(pipeline.port(), "GET", "/healthz").status, 503);

  fail_unless(pipeline.push_jpeg(frames[1]));
  fail_unless_equals_int(http_exchange(pipeline.port(), "GET", "/healthz").status, 200);
  fail_unless(await_element_message(pipeline, "mjpeghttpsink-source-online", nullptr),
              "no source-online message");
  snapshot = http_exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless(snapshot.header("X-Source-Online") == "1");
  fail_unless(snapshot.body == frames[1]);
}
GST_END_TEST;

GST_START_TEST(test_placeholder_file) {
  const Bytes picture = encode_jpegs(1, "snow", 96, 64).at(0);
  gchar *path = g_build_filename(g_get_tmp_dir(), "mjpeghttp-placeholder-XXXXXX.jpg", nullptr);
  const int fd = g_mkstemp(path);
  fail_unless(fd >= 0);
  close(fd);
  fail_unless(g_file_set_contents(path, picture.data(), picture.size(), nullptr));
  {
    SinkPipeline pipeline;
    g_object_set(pipeline.sink(), "source-timeout", kTimeoutMs, "placeholder-location", path,
                 nullptr);
    fail_unless(pipeline.play());
    // No frame ever: the snapshot waits source-timeout, then is the file.
    HttpResponse snapshot = http_exchange(pipeline.port(), "GET", "/?action=snapshot");
    fail_unless_equals_int(snapshot.status, 200);
    fail_unless(snapshot.body == picture, "the placeholder is not the file");
  }
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

GST_START_TEST(test_placeholder_file_must_be_jpeg) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "placeholder-location", "/proc/self/status", nullptr);
  fail_if(pipeline.play(), "a placeholder that is not a JPEG was accepted");
  GstMessage *error = pipeline.await_message(GST_MESSAGE_ERROR, kMessageLimitMs);
  fail_unless(error != nullptr);
  GError *gerror = nullptr;
  gst_message_parse_error(error, &gerror, nullptr);
  fail_unless(strstr(gerror->message, "placeholder-location") != nullptr, "%s", gerror->message);
  g_error_free(gerror);
  gst_message_unref(error);
}
GST_END_TEST;

static Suite *source_loss_suite() {
  return test_support::single_case_suite(
      "source-loss", "source-loss",
      {NAMED_TEST(test_defaults), NAMED_TEST(test_loss_and_return),
       NAMED_TEST(test_placeholder_file), NAMED_TEST(test_placeholder_file_must_be_jpeg)});
}

GST_CHECK_MAIN(source_loss)
