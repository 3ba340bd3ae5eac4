// SPDX-License-Identifier: LGPL-2.1-or-later
// Elements that cannot share a server: the same mount twice, HTTPS next to
// plain HTTP, another request-timeout, a path one mount serves that another
// wants. Each is a RESOURCE/SETTINGS element error naming what clashes and
// with which element, and the element already serving keeps its viewers.
#include <gst/check/gstcheck.h>

#include <functional>
#include <vector>

#include "await.h"
#include "check_suite.h"
#include "json_reply.h"
#include "mount_rig.h"
#include "tls_files.h"

using namespace test_support;
using namespace mounts_test;

namespace {

struct ConflictCase {
  std::string running_mount = "/cam1";
  // The running element's stream path (relative to its mount).
  std::string running_stream_path = "/stream";
  std::string newcomer_mount = "/cam2";
  std::function<void(GstElement *)> configure_newcomer = [](GstElement *) {};
  // Each must appear in the error message.
  std::vector<std::string> expected;
};

void expect_conflict(const ConflictCase &c) {
  Rig running("running"), newcomer("newcomer");
  GstElement *running_sink = running.add_camera("running", c.running_mount);
  g_object_set(running_sink, "stream-path", c.running_stream_path.c_str(), nullptr);
  GstElement *newcomer_sink = newcomer.add_camera("newcomer", c.newcomer_mount);
  c.configure_newcomer(newcomer_sink);
  const int port = play_on_free_port(running);
  fail_unless(port > 0);

  const std::vector<Bytes> pictures = camera_frames(1, 2);
  unsigned sequence = 1;
  fail_unless(running.push_jpeg(0, live_frame(pictures, 1, sequence)));
  const std::string running_prefix = c.running_mount == "/" ? "" : c.running_mount;
  RawViewer viewer(port, running_prefix + c.running_stream_path);
  fail_unless(viewer.streaming() && viewer.await_parts(1), "%s", viewer.detail().c_str());

  newcomer.set_on_sinks("port", port);
  fail_if(newcomer.play(), "an element whose settings clash started");
  const ElementError error = parse_error(newcomer.await_error());
  fail_unless(error.domain == GST_RESOURCE_ERROR, "no resource error posted");
  fail_unless_equals_int(error.code, GST_RESOURCE_ERROR_SETTINGS);
  fail_unless(error.source == "newcomer", "the error came from %s", error.source.c_str());
  for (const std::string &part : c.expected)
    fail_unless(error.message.find(part) != std::string::npos, "the message lacks \"%s\": %s",
                part.c_str(), error.message.c_str());
  newcomer.stop();

  // The running element went on as if nothing happened.
  // One at a time: a viewer's queue holds two frames, a burst could skip one.
  for (int i = 0; i < 3; i++) {
    fail_unless(running.push_jpeg(0, live_frame(pictures, 1, ++sequence)));
    fail_unless(viewer.await_parts(sequence), "%s", viewer.detail().c_str());
  }
  const std::vector<StreamPart> parts = viewer.parts();
  for (size_t i = 0; i < parts.size(); i++) {
    unsigned camera = 0, number = 0;
    fail_unless(read_live_tag(parts[i].body, &camera, &number));
    fail_unless_equals_int(number, i + 1);
  }
  fail_unless(viewer.await_end(0) == StreamEnd::kOpen, "%s", viewer.detail().c_str());
  fail_unless(running.await_error(0) == nullptr, "the running element posted an error");
  JsonReply streams(port, "/streams");
  fail_unless_equals_int(json_array_get_length(JsonReply::array(streams.root(), "streams")), 1);
}

}  // namespace

GST_START_TEST(test_same_mount_twice) {
  ConflictCase c;
  c.newcomer_mount = "/cam1";
  c.expected = {"mount /cam1", "is already served by element 'running'"};
  expect_conflict(c);
}
GST_END_TEST;

GST_START_TEST(test_https_next_to_plain_http) {
  test_support::TlsFiles tls;
  fail_unless(tls.error().empty(), "%s", tls.error().c_str());
  ConflictCase c;
  c.configure_newcomer = [&](GstElement *sink) {
    g_object_set(sink, "tls-certificate-file", tls.certificate().c_str(), "tls-key-file",
                 tls.key().c_str(), nullptr);
  };
  c.expected = {"Cannot share the server on 127.0.0.1:", "with element 'running'", "plain HTTP",
                "HTTPS"};
  expect_conflict(c);
}
GST_END_TEST;

GST_START_TEST(test_other_request_timeout) {
  ConflictCase c;
  c.configure_newcomer = [](GstElement *sink) {
    g_object_set(sink, "request-timeout", 3, nullptr);
  };
  c.expected = {"with element 'running'", "request-timeout is 10 s, not 3 s"};
  expect_conflict(c);
}
GST_END_TEST;

GST_START_TEST(test_root_path_inside_a_named_mount) {
  ConflictCase c;
  // The root mount streams at /cam1/stream, which mount /cam1 would serve.
  c.running_mount = "/";
  c.running_stream_path = "/cam1/stream";
  c.newcomer_mount = "/cam1";
  c.expected = {"path /cam1/stream", "element 'running' (mount /)",
                "element 'newcomer' (mount /cam1)"};
  expect_conflict(c);
}
GST_END_TEST;

static Suite *mounts_conflicts_suite() {
  return test_support::single_case_suite(
      "mounts_conflicts", "conflicts",
      {NAMED_TEST(test_same_mount_twice), NAMED_TEST(test_https_next_to_plain_http),
       NAMED_TEST(test_other_request_timeout), NAMED_TEST(test_root_path_inside_a_named_mount)},
      60);
}

GST_CHECK_MAIN(mounts_conflicts);
