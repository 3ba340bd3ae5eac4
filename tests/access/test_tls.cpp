// SPDX-License-Identifier: LGPL-2.1-or-later
// HTTPS: the stream and the snapshot over TLS to curl and libsoup (both
// verifying the throwaway certificate), the TLS close at EOS, a TLS viewer
// that stops reading or closes (and the reason each left for), and clear
// errors for bad certificate settings.
#include <gio/gio.h>
#include <gst/check/gstcheck.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "access_client.h"
#include "await.h"
#include "check_suite.h"
#include "process.h"
#include "sink_pipeline.h"
#include "tls_files.h"

using namespace access_test;
using namespace test_support;
using test_support::SinkPipeline;

namespace {

std::string https_url(int port, const std::string &path) {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

std::string read_file(const std::string &path) {
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr)) return "";
  std::string bytes(contents, length);
  g_free(contents);
  return bytes;
}

// Frames big enough to take many TLS records and, against a client that
// reads no faster than loopback allows, partial writes.
std::vector<Bytes> big_frames(int count) {
  std::vector<Bytes> encoded = test_support::encode_jpegs(1, "snow", 1280, 720);
  fail_unless_equals_int(encoded.size(), 1);
  fail_unless(encoded[0].size() > 200 * 1024, "frame of only %zu bytes", encoded[0].size());
  std::vector<Bytes> frames;
  for (int i = 0; i < count; i++) frames.push_back(test_support::stamp_jpeg(encoded[0], i + 1));
  return frames;
}

// A sink serving HTTPS with the test's throwaway certificate, playing, with
// the first of `frames` published. `configure` sets any further property
// before PLAYING.
struct TlsServer {
  TlsServer(std::vector<Bytes> frames_to_serve,
            const std::function<void(GstElement *sink)> &configure = nullptr)
      : frames(std::move(frames_to_serve)) {
    fail_unless(files.error().empty(), "cannot make TLS files: %s", files.error().c_str());
    g_object_set(pipeline.sink(), "tls-certificate-file", files.certificate().c_str(),
                 "tls-key-file", files.key().c_str(), nullptr);
    if (configure) configure(pipeline.sink());
    fail_unless(pipeline.play());
    fail_unless(pipeline.push_jpeg(frames[0]));
  }

  TlsFiles files;
  SinkPipeline pipeline;
  const std::vector<Bytes> frames;
};

// A viewer speaking TLS through GIO: handshake (trusting the test's
// certificate), the /stream request and the status line; then it reads
// nothing more. Destroying it closes the connection.
class TlsViewer {
 public:
  TlsViewer(int port, const TlsFiles &files) : client_(g_socket_client_new()) {
    GError *error = nullptr;
    tcp_ = g_socket_client_connect_to_host(client_, "127.0.0.1", static_cast<guint16>(port),
                                           nullptr, &error);
    fail_unless(tcp_ != nullptr, "connect: %s", error ? error->message : "?");
    database_ = g_tls_file_database_new(files.certificate().c_str(), &error);
    fail_unless(database_ != nullptr);
    identity_ = g_network_address_new("127.0.0.1", static_cast<guint16>(port));
    tls_ = g_tls_client_connection_new(G_IO_STREAM(tcp_), identity_, &error);
    fail_unless(tls_ != nullptr);
    g_tls_connection_set_database(G_TLS_CONNECTION(tls_), database_);
    fail_unless(g_tls_connection_handshake(G_TLS_CONNECTION(tls_), nullptr, &error),
                "handshake: %s", error ? error->message : "?");
    const char request[] = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    fail_unless(g_output_stream_write_all(g_io_stream_get_output_stream(tls_), request,
                                          sizeof request - 1, nullptr, nullptr, &error));
    char first[16];
    fail_unless(g_input_stream_read_all(g_io_stream_get_input_stream(tls_), first, sizeof first,
                                        nullptr, nullptr, &error));
    fail_unless(memcmp(first, "HTTP/1.1 200", 12) == 0);
  }
  ~TlsViewer() {
    g_object_unref(tls_);
    g_object_unref(identity_);
    g_object_unref(database_);
    g_object_unref(tcp_);
    g_object_unref(client_);
  }
  TlsViewer(const TlsViewer &) = delete;
  TlsViewer &operator=(const TlsViewer &) = delete;

 private:
  GSocketClient *client_;
  GSocketConnection *tcp_ = nullptr;
  GTlsDatabase *database_ = nullptr;
  GSocketConnectable *identity_ = nullptr;
  GIOStream *tls_ = nullptr;
};

// The reason of the first mjpeghttpsink-client-removed message on the bus.
std::string removed_reason(const SinkPipeline &pipeline) {
  for (int seen = 0; seen < 100; seen++) {
    GstMessage *message = pipeline.await_message(GST_MESSAGE_ELEMENT, test_support::kAwaitMs);
    if (!message) break;
    const GstStructure *details = gst_message_get_structure(message);
    const bool removed = gst_structure_has_name(details, "mjpeghttpsink-client-removed");
    const gchar *field = removed ? gst_structure_get_string(details, "reason") : nullptr;
    const std::string reason = field ? field : "(no reason)";
    gst_message_unref(message);
    if (removed) return reason;
  }
  return "(no client-removed message)";
}

enum class ViewerThen { kStopsReading, kCloses };

// Connects a TlsViewer to `tls`, which then stops reading or closes, and
// keeps frames coming until the server removes it: the reason it gave.
std::string reason_tls_viewer_was_removed(TlsServer &tls, ViewerThen then) {
  auto viewer = std::make_unique<TlsViewer>(tls.pipeline.port(), tls.files);
  fail_unless(tls.pipeline.await_num_clients(1));
  if (then == ViewerThen::kCloses) viewer.reset();
  fail_unless(tls.pipeline.pump_frames_until(tls.frames[0],
                                             [&] { return tls.pipeline.num_clients() == 0; }),
              "a TLS viewer that %s was never removed",
              then == ViewerThen::kCloses ? "closed" : "reads nothing");
  return removed_reason(tls.pipeline);
}

}  // namespace

GST_START_TEST(test_stream_over_tls_with_libsoup) {
  TlsServer tls(big_frames(2));
  const std::vector<Bytes> &frames = tls.frames;
  const int port = tls.pipeline.port();

  RequestOptions options;
  options.ca_file = tls.files.certificate();
  std::vector<Bytes> parts;
  SoupReply head;
  std::string error;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    parts = soup_read_parts(https_url(port, "/stream"), 4, options, &head, &error);
    done = true;
  });
  const bool finished = tls.pipeline.pump_frames_until(frames[1], [&] { return done.load(); });
  reader.join();
  fail_unless(finished, "the reader did not finish");
  fail_unless(error.empty(), "libsoup: %s", error.c_str());
  fail_unless_equals_int(head.status, 200);
  fail_unless_equals_int(parts.size(), 4);
  for (const Bytes &part : parts)
    fail_unless(part == frames[0] || part == frames[1], "a part of %zu bytes is not a frame",
                part.size());
}
GST_END_TEST;

GST_START_TEST(test_stream_over_tls_with_curl_until_eos) {
  TlsServer tls(big_frames(3));
  SinkPipeline &pipeline = tls.pipeline;
  const std::vector<Bytes> &frames = tls.frames;
  const std::string output = tls.files.scratch("stream.bin");

  BackgroundProcess curl({"curl", "-sS", "--max-time", "30", "--cacert", tls.files.certificate(),
                          "-o", output, https_url(pipeline.port(), "/stream")});
  fail_unless(pipeline.await_num_clients(1), "curl did not become a viewer");
  fail_unless(test_support::await_condition([&] { return pipeline.stat("frames-sent") >= 1; }));
  for (size_t i = 1; i < frames.size(); i++) fail_unless(pipeline.push_jpeg(frames[i]));
  pipeline.push_eos();
  const ProcessResult &result = curl.result();
  fail_unless(result.ran, "curl: %s", result.err.c_str());
  // 0, not 56: the stream ended with a TLS close_notify, not a cut.
  fail_unless_equals_int(result.exit_status, 0);

  const std::string body = read_file(output);
  fail_unless(body.size() > frames[0].size(), "curl got %zu bytes", body.size());
  for (const Bytes &frame : frames)
    fail_unless(body.find(frame) != std::string::npos, "a frame is missing from curl's copy");
  const std::string closing = "--\r\n";
  fail_unless(body.size() > closing.size() &&
                  body.compare(body.size() - closing.size(), closing.size(), closing) == 0,
              "the stream did not end with the close delimiter");
}
GST_END_TEST;

GST_START_TEST(test_snapshot_over_tls) {
  TlsServer tls(test_support::distinct_jpegs(1), [](GstElement *sink) {
    g_object_set(sink, "auth-user", "bob", "auth-password", "pw", nullptr);
  });
  TlsFiles &files = tls.files;
  const Bytes &frame = tls.frames[0];
  const int port = tls.pipeline.port();

  const std::string output = files.scratch("snapshot.jpg");
  ProcessResult curl =
      run_process({"curl", "-sS", "--max-time", "20", "--cacert", files.certificate(), "-u",
                   "bob:pw", "-o", output, "-w", "%{http_code}", https_url(port, "/snapshot")});
  fail_unless(curl.ran, "curl: %s", curl.err.c_str());
  fail_unless_equals_int(curl.exit_status, 0);
  fail_unless_equals_string(curl.out.c_str(), "200");
  fail_unless(read_file(output) == frame, "curl's snapshot is not the frame");

  RequestOptions options;
  options.ca_file = files.certificate();
  SoupReply refused = soup_request(https_url(port, "/snapshot"), options);
  fail_unless(refused.sent, "%s", refused.error.c_str());
  fail_unless_equals_int(refused.status, 401);
  options.headers["Authorization"] = basic_authorization("bob", "pw");
  SoupReply snapshot = soup_request(https_url(port, "/snapshot"), options);
  fail_unless(snapshot.sent, "%s", snapshot.error.c_str());
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.body == frame, "libsoup's snapshot is not the frame");
}
GST_END_TEST;

GST_START_TEST(test_no_plain_http_and_certificate_checked) {
  TlsServer tls(test_support::distinct_jpegs(1));
  const int port = tls.pipeline.port();

  // The certificate is not trusted by the system: a verifying client refuses
  // it, so the tests that pass a CA file really verify it.
  SoupReply untrusted = soup_request(https_url(port, "/snapshot"));
  fail_if(untrusted.sent, "an untrusted certificate was accepted");
  // Plain HTTP on the HTTPS port gets no answer, and no picture.
  const std::string raw =
      raw_exchange("127.0.0.1", port, "GET /snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  fail_if(raw.rfind("HTTP/", 0) == 0, "plain HTTP was answered");
  fail_if(contains_jpeg_start(raw));
}
GST_END_TEST;

// A TLS viewer that stops reading is cut off after client-timeout, like a
// plain one: the TLS write path keeps the no-progress timeout.
GST_START_TEST(test_tls_viewer_that_stops_reading_is_cut_off) {
  TlsServer tls(big_frames(1),
                [](GstElement *sink) { g_object_set(sink, "client-timeout", 1, nullptr); });
  // The viewer reads nothing more; frames fill its buffers until the
  // server's writes make no progress for client-timeout.
  const std::string reason = reason_tls_viewer_was_removed(tls, ViewerThen::kStopsReading);
  fail_unless_equals_string(reason.c_str(), "timeout");
}
GST_END_TEST;

// A TLS viewer that closes its connection left "closed", not "write-error":
// the TLS layer's error for a vanished peer is told apart from a failure.
GST_START_TEST(test_tls_viewer_that_closes_left_closed) {
  TlsServer tls(big_frames(1));
  const std::string reason = reason_tls_viewer_was_removed(tls, ViewerThen::kCloses);
  fail_unless_equals_string(reason.c_str(), "closed");
}
GST_END_TEST;

GST_START_TEST(test_bad_tls_settings_are_clear_errors) {
  TlsFiles files;
  fail_unless(files.error().empty(), "cannot make TLS files: %s", files.error().c_str());
  struct Case {
    std::string certificate, key;
    GstResourceError code;
    std::vector<std::string> mentions;
  };
  const Case cases[] = {
      {files.missing(),
       files.key(),
       GST_RESOURCE_ERROR_OPEN_READ,
       {files.missing(), "No such file"}},
      {files.certificate(),
       files.missing(),
       GST_RESOURCE_ERROR_OPEN_READ,
       {files.missing(), "No such file"}},
      {files.not_pem(), files.key(), GST_RESOURCE_ERROR_SETTINGS, {files.not_pem(), "certificate"}},
      {files.certificate(),
       files.not_pem(),
       GST_RESOURCE_ERROR_SETTINGS,
       {files.not_pem(), "private key"}},
      {files.certificate(),
       files.other_key(),
       GST_RESOURCE_ERROR_SETTINGS,
       {files.other_key(), files.certificate(), "does not match"}},
      {files.certificate(), "", GST_RESOURCE_ERROR_SETTINGS, {files.certificate(), "tls-key-file"}},
      {"", files.key(), GST_RESOURCE_ERROR_SETTINGS, {files.key(), "tls-certificate-file"}},
  };
  for (const Case &c : cases) {
    SinkPipeline pipeline;
    g_object_set(pipeline.sink(), "tls-certificate-file", c.certificate.c_str(), "tls-key-file",
                 c.key.c_str(), nullptr);
    fail_unless(gst_element_set_state(pipeline.pipeline(), GST_STATE_PAUSED) ==
                GST_STATE_CHANGE_FAILURE);
    GstMessage *message = pipeline.await_message(GST_MESSAGE_ERROR, 5000);
    fail_unless(message != nullptr, "no error for '%s' + '%s'", c.certificate.c_str(),
                c.key.c_str());
    GError *error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    fail_unless(g_error_matches(error, GST_RESOURCE_ERROR, c.code), "'%s': wrong error code %d",
                error->message, error->code);
    for (const std::string &mention : c.mentions)
      fail_unless(strstr(error->message, mention.c_str()) != nullptr, "'%s' does not mention '%s'",
                  error->message, mention.c_str());
    g_error_free(error);
    gst_message_unref(message);
    fail_unless_equals_int(pipeline.port(), 0);
  }
}
GST_END_TEST;

static Suite *access_tls_suite() {
  return test_support::single_case_suite(
      "access-tls", "tls",
      {NAMED_TEST(test_stream_over_tls_with_libsoup),
       NAMED_TEST(test_stream_over_tls_with_curl_until_eos), NAMED_TEST(test_snapshot_over_tls),
       NAMED_TEST(test_no_plain_http_and_certificate_checked),
       NAMED_TEST(test_tls_viewer_that_stops_reading_is_cut_off),
       NAMED_TEST(test_tls_viewer_that_closes_left_closed),
       NAMED_TEST(test_bad_tls_settings_are_clear_errors)});
}

GST_CHECK_MAIN(access_tls);
