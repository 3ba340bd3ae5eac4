// SPDX-License-Identifier: LGPL-2.1-or-later
// advance-headers=true: each part's headers go out right after the previous
// JPEG (Chrome shows part N only once part N+1 begins, so it then shows each
// frame as soon as its bytes are in). The wire format, byte for byte, and a
// real parser (souphttpsrc ! multipartdemux ! jpegdec) reading it; ffmpeg
// reads it in test_ffmpeg.cpp.
#include <gst/check/gstcheck.h>

#include <atomic>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_checks.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

namespace {

constexpr const char *kPartHeaders = "Content-Type: image/jpeg\r\n\r\n";

void use_advance_headers(SinkPipeline &pipeline) {
  g_object_set(pipeline.sink(), "advance-headers", TRUE, "max-queued-frames", 64u, nullptr);
}

}  // namespace

GST_START_TEST(test_wire_format) {
  SinkPipeline pipeline;
  use_advance_headers(pipeline);
  fail_unless(pipeline.play());
  const std::vector<Bytes> frames = distinct_jpegs(5);
  fail_unless_equals_int(frames.size(), 5);
  fail_unless(pipeline.push_jpeg(frames[0]));

  RawSocket connection(pipeline.port());
  fail_unless(connection.ok());
  fail_unless(connection.send_all("GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  HttpHead head;
  fail_unless(connection.read_head(&head));
  fail_unless_equals_int(head.status, 200);
  const std::string boundary = check_stream_headers(head.headers);
  const std::string delimiter = "\r\n--" + boundary + "\r\n";

  // The latest frame at once, framed by the opening delimiter with the
  // headers, and followed by the next part's delimiter and headers already.
  const std::string opening = "--" + boundary + "\r\n" + kPartHeaders;
  std::string received;
  const std::string first = opening + frames[0] + delimiter + kPartHeaders;
  fail_unless(connection.read_exact(first.size(), &received));
  fail_unless(received == first, "the first part is not '--b, headers, frame, --b, headers'");

  for (size_t i = 1; i < frames.size(); i++) fail_unless(pipeline.push_jpeg(frames[i]));
  pipeline.push_eos();
  std::string rest;
  fail_unless(connection.read_to_end(&rest), "the stream did not end after EOS");

  // Between delimiters: the part headers (no Content-Length, no
  // X-Timestamp) and the pushed JPEG, nothing else. EOS repeats the last
  // frame and closes with "--b--".
  const std::string closing = "\r\n--" + boundary + "--\r\n";
  fail_unless(rest.size() >= closing.size() &&
                  rest.compare(rest.size() - closing.size(), closing.size(), closing) == 0,
              "the stream does not end with the close delimiter");
  const std::string body = rest.substr(0, rest.size() - closing.size());
  std::vector<std::string> pieces;
  size_t start = 0;
  for (;;) {
    const size_t at = body.find(delimiter, start);
    pieces.push_back(body.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + delimiter.size();
  }
  // frames[1..4], then the repeat of frames[4].
  fail_unless_equals_int(pieces.size(), frames.size());
  for (size_t i = 0; i < pieces.size(); i++) {
    const Bytes &expected = frames[std::min(i + 1, frames.size() - 1)];
    const bool headers_first = i == 0 ? pieces[i] == expected  // headers came with part 0
                                      : pieces[i] == std::string(kPartHeaders) + expected;
    fail_unless(headers_first, "piece %zu (%zu bytes) is not headers + frame", i, pieces[i].size());
  }
  fail_unless(rest.find("Content-Length") == std::string::npos);
  fail_unless(rest.find("X-Timestamp") == std::string::npos);
  std::string whole = first;
  for (size_t i = 1; i < frames.size(); i++) whole += frames[i] + delimiter + kPartHeaders;
  whole += frames.back() + closing;
  fail_unless((received + rest) == whole, "the body differs from the expected bytes");
}
GST_END_TEST;

// EOS before any frame: just the close delimiter, as without the option.
GST_START_TEST(test_eos_before_any_frame) {
  SinkPipeline pipeline;
  use_advance_headers(pipeline);
  fail_unless(pipeline.play());
  RawSocket connection(pipeline.port());
  fail_unless(connection.send_all("GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  HttpHead head;
  fail_unless(connection.read_head(&head));
  const std::string boundary = check_stream_headers(head.headers);
  fail_unless(pipeline.await_num_clients(1));
  pipeline.push_eos();
  std::string body;
  fail_unless(connection.read_to_end(&body));
  fail_unless(body == "--" + boundary + "--\r\n", "body '%s'", body.c_str());
}
GST_END_TEST;

// GStreamer's own multipart parser, in this process, decodes the frames.
GST_START_TEST(test_souphttpsrc_multipartdemux_decodes) {
  SinkPipeline pipeline;
  use_advance_headers(pipeline);
  fail_unless(pipeline.play());
  const Bytes frame = distinct_jpegs(1).at(0);
  fail_unless(pipeline.push_jpeg(frame));

  gchar *description = g_strdup_printf(
      "souphttpsrc location=http://127.0.0.1:%d/stream is-live=true ! multipartdemux "
      "! jpegdec name=decoder ! fakesink sync=false",
      pipeline.port());
  GError *error = nullptr;
  GstElement *client = gst_parse_launch(description, &error);
  g_free(description);
  fail_unless(client != nullptr, "%s", error ? error->message : "?");
  GstElement *decoder = gst_bin_get_by_name(GST_BIN(client), "decoder");
  GstPad *decoded_pad = gst_element_get_static_pad(decoder, "src");
  std::atomic<int> decoded{0};
  gst_pad_add_probe(
      decoded_pad, GST_PAD_PROBE_TYPE_BUFFER,
      +[](GstPad *, GstPadProbeInfo *, gpointer count) -> GstPadProbeReturn {
        static_cast<std::atomic<int> *>(count)->fetch_add(1);
        return GST_PAD_PROBE_OK;
      },
      &decoded, nullptr);
  fail_unless(gst_element_set_state(client, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

  constexpr int kDecoded = 5;
  fail_unless(pipeline.pump_frames_until(frame, [&] { return decoded.load() >= kDecoded; }),
              "jpegdec decoded %d frames", decoded.load());
  GstCaps *caps = gst_pad_get_current_caps(decoded_pad);
  fail_unless(caps != nullptr);
  GstStructure *structure = gst_caps_get_structure(caps, 0);
  int width = 0, height = 0;
  fail_unless(gst_structure_get_int(structure, "width", &width) &&
              gst_structure_get_int(structure, "height", &height));
  fail_unless_equals_int(width, 160);
  fail_unless_equals_int(height, 120);
  gst_caps_unref(caps);

  GstBus *bus = gst_element_get_bus(client);
  GstMessage *failure = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(failure == nullptr, "the client pipeline posted an error");
  gst_object_unref(bus);
  gst_element_set_state(client, GST_STATE_NULL);
  gst_object_unref(decoded_pad);
  gst_object_unref(decoder);
  gst_object_unref(client);
}
GST_END_TEST;

static Suite *viewer_advance_headers_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-advance-headers", "advance-headers",
      {NAMED_TEST(test_wire_format), NAMED_TEST(test_eos_before_any_frame),
       NAMED_TEST(test_souphttpsrc_multipartdemux_decodes)});
}

GST_CHECK_MAIN(viewer_advance_headers);
