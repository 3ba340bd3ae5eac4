// SPDX-License-Identifier: LGPL-2.1-or-later
// IPv6: address=::1 serves on the IPv6 loopback only, address=:: on both
// stacks; viewers are reported as "[v6]:port" or, through the dual-stack
// socket, as the plain IPv4 "a.b.c.d:port" they are. Skipped, saying so,
// where the machine has no IPv6 loopback.
#include <gst/check/gstcheck.h>

#include <mutex>

#include "access_client.h"
#include "check_suite.h"
#include "process.h"
#include "sink_pipeline.h"

using namespace access_test;
using namespace test_support;
using test_support::SinkPipeline;

namespace {

struct Addresses {
  std::mutex mutex;
  std::vector<std::string> added;

  bool contains(const std::string &address) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const std::string &a : added)
      if (a == address) return true;
    return false;
  }
};

void on_client_added(GstElement *, const gchar *address, gpointer data) {
  auto *addresses = static_cast<Addresses *>(data);
  std::lock_guard<std::mutex> lock(addresses->mutex);
  addresses->added.push_back(address);
}

bool skip_without_ipv6() {
  if (have_ipv6_loopback()) return false;
  g_print("SKIPPED: this machine cannot bind a socket to ::1 (no IPv6 loopback)\n");
  return true;
}

// Opens /stream on `host` and returns once the first frame has arrived.
bool watch_first_frame(RawSocket &connection, const Bytes &frame) {
  if (!connection.ok() || !connection.send_all("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"))
    return false;
  return connection.read_until(frame, deadline_in(kAwaitMs));
}

}  // namespace

GST_START_TEST(test_ipv6_loopback) {
  if (skip_without_ipv6()) return;
  SinkPipeline pipeline;
  Addresses addresses;
  g_signal_connect(pipeline.sink(), "client-added", G_CALLBACK(on_client_added), &addresses);
  g_object_set(pipeline.sink(), "address", "::1", nullptr);
  fail_unless(pipeline.play());
  const Bytes frame = test_support::distinct_jpegs(1)[0];
  fail_unless(pipeline.push_jpeg(frame));
  const int port = pipeline.port();

  RawSocket viewer(Endpoint::at("::1", port));
  fail_unless(watch_first_frame(viewer, frame), "no frame over [::1]");
  const std::string expected = "[::1]:" + std::to_string(viewer.local_port());
  fail_unless(test_support::await_condition([&] { return addresses.contains(expected); }),
              "client-added never reported %s", expected.c_str());

  const std::string url = "http://[::1]:" + std::to_string(port) + "/snapshot";
  SoupReply snapshot = soup_request(url);
  fail_unless(snapshot.sent, "%s", snapshot.error.c_str());
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless(snapshot.body == frame);
  ProcessResult curl = run_process({"curl", "-sS", "-g", "--max-time", "20", "-o", "/dev/null",
                                    "-w", "%{http_code} %{size_download}", url});
  fail_unless(curl.ran && curl.exit_status == 0, "curl: %s", curl.err.c_str());
  const std::string expected_out = "200 " + std::to_string(frame.size());
  fail_unless(curl.out == expected_out, "curl: '%s', expected '%s'", curl.out.c_str(),
              expected_out.c_str());

  // Bound to ::1 only: IPv4 loopback finds nobody there.
  RawSocket ipv4(Endpoint::at("127.0.0.1", port));
  fail_if(ipv4.ok(), "::1 also accepted an IPv4 connection");
}
GST_END_TEST;

GST_START_TEST(test_dual_stack) {
  if (skip_without_ipv6()) return;
  SinkPipeline pipeline;
  Addresses addresses;
  g_signal_connect(pipeline.sink(), "client-added", G_CALLBACK(on_client_added), &addresses);
  g_object_set(pipeline.sink(), "address", "::", nullptr);
  fail_unless(pipeline.play());
  const Bytes frame = test_support::distinct_jpegs(1)[0];
  fail_unless(pipeline.push_jpeg(frame));
  const int port = pipeline.port();

  RawSocket over_v4(Endpoint::at("127.0.0.1", port));
  RawSocket over_v6(Endpoint::at("::1", port));
  fail_unless(watch_first_frame(over_v4, frame), "no frame over 127.0.0.1");
  fail_unless(watch_first_frame(over_v6, frame), "no frame over [::1]");
  fail_unless(pipeline.await_num_clients(2));
  const std::string v4 = "127.0.0.1:" + std::to_string(over_v4.local_port());
  const std::string v6 = "[::1]:" + std::to_string(over_v6.local_port());
  fail_unless(test_support::await_condition(
                  [&] { return addresses.contains(v4) && addresses.contains(v6); }),
              "client-added did not report %s and %s", v4.c_str(), v6.c_str());
}
GST_END_TEST;

GST_START_TEST(test_ipv6_port_in_use_names_the_address) {
  if (skip_without_ipv6()) return;
  SinkPipeline first;
  g_object_set(first.sink(), "address", "::1", nullptr);
  fail_unless(first.play());
  SinkPipeline second;
  g_object_set(second.sink(), "address", "::1", "port", first.port(), nullptr);
  fail_unless(gst_element_set_state(second.pipeline(), GST_STATE_PAUSED) ==
              GST_STATE_CHANGE_FAILURE);
  GstMessage *message = second.await_message(GST_MESSAGE_ERROR, 5000);
  fail_unless(message != nullptr);
  GError *error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  const std::string where = "[::1]:" + std::to_string(first.port());
  fail_unless(strstr(error->message, where.c_str()) != nullptr, "'%s' does not name %s",
              error->message, where.c_str());
  g_error_free(error);
  gst_message_unref(message);
}
GST_END_TEST;

static Suite *access_ipv6_suite() {
  return test_support::single_case_suite(
      "access-ipv6", "ipv6",
      {NAMED_TEST(test_ipv6_loopback), NAMED_TEST(test_dual_stack),
       NAMED_TEST(test_ipv6_port_in_use_names_the_address)});
}

GST_CHECK_MAIN(access_ipv6);
