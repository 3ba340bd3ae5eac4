// SPDX-License-Identifier: LGPL-2.1-or-later
// CORS: allow-origin adds Access-Control-Allow-Origin to every response and
// answers preflight OPTIONS requests (without authentication, as browsers
// send them without credentials); without it, nothing changes.
#include <gst/check/gstcheck.h>

#include "access_client.h"
#include "check_suite.h"
#include "sink_pipeline.h"

using namespace access_test;
using namespace test_support;
using test_support::HttpHead;
using test_support::SinkPipeline;

namespace {

HttpHead exchange(int port, const std::string &method, const std::string &path,
                  const std::string &extra_headers = "") {
  const std::string raw =
      raw_exchange("127.0.0.1", port,
                   method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                       "Origin: https://app.example\r\n" + extra_headers + "\r\n",
                   64 * 1024);
  return parse_response(raw);
}

// Compares in std::string: the check macros would keep a pointer into a
// temporary.
void check_header(const HttpHead &head, const char *name, const std::string &expected) {
  const std::string value = head.header(name);
  fail_unless(value == expected, "%s: '%s', expected '%s'", name, value.c_str(), expected.c_str());
}

const char kPreflight[] =
    "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization, "
    "x-custom\r\n";

void check_preflight(const HttpHead &head, const std::string &origin,
                     const std::string &allowed_headers) {
  fail_unless_equals_int(head.status, 204);
  check_header(head, "Access-Control-Allow-Origin", origin);
  check_header(head, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
  check_header(head, "Access-Control-Allow-Headers", allowed_headers);
  fail_unless(std::atoi(head.header("Access-Control-Max-Age").c_str()) > 0);
  check_header(head, "Connection", "close");
}

}  // namespace

GST_START_TEST(test_no_cors_by_default) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(test_support::distinct_jpegs(1)[0]));
  HttpHead snapshot = exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_if(snapshot.has("Access-Control-Allow-Origin"));
  HttpHead options = exchange(pipeline.port(), "OPTIONS", "/stream", kPreflight);
  fail_unless_equals_int(options.status, 405);
  check_header(options, "Allow", "GET, HEAD");
  fail_if(options.has("Access-Control-Allow-Origin"));
}
GST_END_TEST;

GST_START_TEST(test_any_origin) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "allow-origin", "*", nullptr);
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(test_support::distinct_jpegs(1)[0]));
  const int port = pipeline.port();

  for (const char *path : {"/snapshot", "/", "/missing"}) {
    HttpHead head = exchange(port, "GET", path);
    check_header(head, "Access-Control-Allow-Origin", "*");
    fail_if(head.has("Vary"), "%s: Vary with the wildcard origin", path);
  }
  // The stream, read by a real multipart viewer.
  test_support::RawViewer viewer(port);
  fail_unless_equals_int(viewer.head().status, 200);
  check_header(viewer.head(), "Access-Control-Allow-Origin", "*");
  fail_unless(viewer.await_parts(1));

  check_preflight(exchange(port, "OPTIONS", "/stream", kPreflight), "*", "authorization, x-custom");
  check_preflight(exchange(port, "OPTIONS", "/snapshot", "Access-Control-Request-Method: GET\r\n"),
                  "*", "Authorization");
  // Nothing to preflight where nothing is served.
  fail_unless_equals_int(exchange(port, "OPTIONS", "/missing", kPreflight).status, 404);
}
GST_END_TEST;

GST_START_TEST(test_one_origin_varies) {
  SinkPipeline pipeline;
  // source-timeout off: the snapshot answers (503) at once instead of waiting.
  g_object_set(pipeline.sink(), "allow-origin", "https://app.example", "source-timeout", 0u,
               nullptr);
  fail_unless(pipeline.play());
  HttpHead head = exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(head.status, 503);
  check_header(head, "Access-Control-Allow-Origin", "https://app.example");
  check_header(head, "Vary", "Origin");
}
GST_END_TEST;

GST_START_TEST(test_preflight_needs_no_credentials) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "allow-origin", "https://app.example", "auth-user", "carol",
               "auth-password", "pw", nullptr);
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(test_support::distinct_jpegs(1)[0]));
  const int port = pipeline.port();

  check_preflight(exchange(port, "OPTIONS", "/stream", kPreflight), "https://app.example",
                  "authorization, x-custom");
  // The real request still needs them; its 401 carries the CORS header so
  // the page's script can see why it failed.
  HttpHead refused = exchange(port, "GET", "/snapshot");
  fail_unless_equals_int(refused.status, 401);
  check_header(refused, "Access-Control-Allow-Origin", "https://app.example");
  HttpHead allowed = exchange(port, "GET", "/snapshot",
                              "Authorization: " + basic_authorization("carol", "pw") + "\r\n");
  fail_unless_equals_int(allowed.status, 200);
  check_header(allowed, "Access-Control-Allow-Origin", "https://app.example");
}
GST_END_TEST;

GST_START_TEST(test_options_needs_credentials_without_cors) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "auth-user", "carol", "auth-password", "pw", nullptr);
  fail_unless(pipeline.play());
  fail_unless_equals_int(exchange(pipeline.port(), "OPTIONS", "/stream", kPreflight).status, 401);
}
GST_END_TEST;

GST_START_TEST(test_unprintable_origin_is_refused) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "allow-origin", "https://a.example\r\nX-Injected: 1", nullptr);
  fail_unless(gst_element_set_state(pipeline.pipeline(), GST_STATE_PAUSED) ==
              GST_STATE_CHANGE_FAILURE);
  GstMessage *message = pipeline.await_message(GST_MESSAGE_ERROR, 5000);
  fail_unless(message != nullptr);
  GError *error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  fail_unless(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  fail_unless(strstr(error->message, "allow-origin") != nullptr, "'%s'", error->message);
  g_error_free(error);
  gst_message_unref(message);
}
GST_END_TEST;

static Suite *access_cors_suite() {
  return test_support::single_case_suite(
      "access-cors", "cors",
      {NAMED_TEST(test_no_cors_by_default), NAMED_TEST(test_any_origin),
       NAMED_TEST(test_one_origin_varies), NAMED_TEST(test_preflight_needs_no_credentials),
       NAMED_TEST(test_options_needs_credentials_without_cors),
       NAMED_TEST(test_unprintable_origin_is_refused)});
}

GST_CHECK_MAIN(access_cors);
