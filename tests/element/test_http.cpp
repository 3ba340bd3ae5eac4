// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP surface around the stream: /snapshot, the index page, HEAD,
// 404/405, and max-clients refusing viewers with 503.
#include <gst/check/gstcheck.h>

#include <memory>

#include "check_suite.h"
#include "sink_pipeline.h"
#include "soup_client.h"
#include "stream_checks.h"
#include "stream_client.h"

using namespace test_support;

namespace {

std::vector<Bytes> test_frames(int count) {
  std::vector<Bytes> frames = distinct_jpegs(count);
  fail_unless_equals_int(frames.size(), count);
  return frames;
}

// The src attribute of the page's first <img>.
std::string first_img_src(const std::string &html) {
  size_t img = html.find("<img");
  if (img == std::string::npos) return "";
  size_t end = html.find('>', img);
  size_t src = html.find("src=\"", img);
  if (src == std::string::npos || src > end) return "";
  src += 5;
  size_t close = html.find('"', src);
  return close == std::string::npos ? "" : html.substr(src, close - src);
}

// Where a browser would go for `reference` on the page at `port`'s "/".
std::string resolve_path(int port, const std::string &reference) {
  const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/";
  GError *error = nullptr;
  gchar *resolved =
      g_uri_resolve_relative(base.c_str(), reference.c_str(), G_URI_FLAGS_NONE, &error);
  fail_unless(resolved != nullptr, "cannot resolve '%s': %s", reference.c_str(),
              error ? error->message : "?");
  GUri *uri = g_uri_parse(resolved, G_URI_FLAGS_NONE, nullptr);
  g_free(resolved);
  fail_unless(uri != nullptr);
  fail_unless_equals_string(g_uri_get_host(uri), "127.0.0.1");
  fail_unless_equals_int(g_uri_get_port(uri), port);
  std::string path = g_uri_get_path(uri);
  g_uri_unref(uri);
  return path;
}

void check_index_page(int port, const std::string &stream_path) {
  HttpResponse page = http_exchange(port, "GET", "/");
  fail_unless_equals_int(page.status, 200);
  fail_unless(page.header("Content-Type").rfind("text/html", 0) == 0, "Content-Type %s",
              page.header("Content-Type").c_str());
  const std::string src = first_img_src(page.body);
  fail_if(src.empty(), "no <img src> in the page");
  const std::string resolved = resolve_path(port, src);
  fail_unless(resolved == stream_path, "<img src=\"%s\"> leads to %s, not %s", src.c_str(),
              resolved.c_str(), stream_path.c_str());
  // And it really is the stream.
  RawViewer viewer(port, resolved);
  fail_unless_equals_int(viewer.head().status, 200);
  check_stream_headers(viewer.head().headers);
}

}  // namespace

// With source-timeout off nothing says how long the source may take to
// start, so a snapshot before the first frame is refused at once.
GST_START_TEST(test_snapshot_before_first_frame_without_timeout) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "source-timeout", 0u, nullptr);
  fail_unless(pipeline.play());
  for (const char *method : {"GET", "HEAD"}) {
    HttpResponse reply = http_exchange(pipeline.port(), method, "/snapshot");
    fail_unless_equals_int(reply.status, 503);
    fail_unless(reply.header("Retry-After") == "1", "%s: Retry-After '%s'", method,
                reply.header("Retry-After").c_str());
    fail_unless(reply.header("Connection") == "close");
    fail_unless(reply.closed_by_server);
  }
  SoupReply soup = soup_fetch(pipeline.port(), "GET", "/snapshot");
  fail_unless(soup.sent, "%s", soup.error.c_str());
  fail_unless_equals_int(soup.status, 503);
  fail_unless(soup.header("Retry-After") == "1");
}
GST_END_TEST;

// By default a snapshot before the first frame waits for it, up to
// source-timeout, then answers the generated "no signal" picture.
GST_START_TEST(test_snapshot_before_first_frame_is_the_placeholder) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "source-timeout", 300u, nullptr);
  fail_unless(pipeline.play());
  HttpResponse reply = http_exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(reply.status, 200);
  fail_unless(reply.header("Content-Type") == "image/jpeg");
  fail_unless(reply.header("X-Source-Online") == "0");
  fail_unless(reply.body.size() > 100 && static_cast<unsigned char>(reply.body[0]) == 0xFF &&
                  static_cast<unsigned char>(reply.body[1]) == 0xD8,
              "the placeholder is not a JPEG (%zu bytes)", reply.body.size());
}
GST_END_TEST;

GST_START_TEST(test_snapshot_is_latest_frame) {
  const std::vector<Bytes> frames = test_frames(4);
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  for (size_t i = 0; i < 3; i++) fail_unless(pipeline.push_jpeg(frames[i]));

  SoupReply soup = soup_fetch(pipeline.port(), "GET", "/snapshot");
  fail_unless(soup.sent, "%s", soup.error.c_str());
  fail_unless_equals_int(soup.status, 200);
  fail_unless(soup.header("Content-Type") == "image/jpeg", "Content-Type %s",
              soup.header("Content-Type").c_str());
  fail_unless(soup.body == frames[2], "the snapshot is not the latest frame");
  fail_unless(soup.header("Content-Length") == std::to_string(frames[2].size()));
  fail_unless(soup.header("Cache-Control") == "no-cache, no-store, must-revalidate");
  check_timestamp(soup.header("X-Timestamp"));

  // A frame in three memories comes back whole.
  const Bytes &split = frames[3];
  fail_unless(pipeline.push_and_await(buffer_in_memories(split, {2, split.size() - 3}),
                                      "frames-published"));
  HttpResponse raw = http_exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(raw.status, 200);
  fail_unless(raw.closed_by_server);
  fail_unless(raw.body == split, "multi-memory snapshot: %zu bytes, expected %zu", raw.body.size(),
              split.size());
  fail_unless(raw.header("Connection") == "close");
}
GST_END_TEST;

GST_START_TEST(test_snapshot_head) {
  const std::vector<Bytes> frames = test_frames(2);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);
  fail_unless(pipeline.push_jpeg(frames[1]));
  HttpResponse head = http_exchange(pipeline.port(), "HEAD", "/snapshot");
  fail_unless_equals_int(head.status, 200);
  fail_unless(head.header("Content-Length") == std::to_string(frames[1].size()),
              "Content-Length %s for %zu bytes", head.header("Content-Length").c_str(),
              frames[1].size());
  fail_unless(head.header("Content-Type") == "image/jpeg");
  fail_unless(head.closed_by_server);
  fail_unless_equals_int(head.body.size(), 0);
}
GST_END_TEST;

GST_START_TEST(test_unknown_path_is_404) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  const std::pair<const char *, const char *> requests[] = {{"GET", "/nothing-here"},
                                                            {"POST", "/nothing-here"},
                                                            {"GET", "/stream/more"},
                                                            {"HEAD", "/snapshot.jpg"},
                                                            {"DELETE", "/index.html"}};
  for (const auto &request : requests) {
    HttpResponse reply = http_exchange(pipeline.port(), request.first, request.second);
    fail_unless(reply.status == 404, "%s %s: %d", request.first, request.second, reply.status);
    fail_unless(reply.header("Connection") == "close");
  }
  fail_unless_equals_int(pipeline.num_clients(), 0);
}
GST_END_TEST;

GST_START_TEST(test_other_methods_are_405) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  const std::pair<const char *, const char *> requests[] = {
      {"POST", "/stream"}, {"PUT", "/snapshot"}, {"DELETE", "/"}, {"OPTIONS", "/stream"}};
  for (const auto &request : requests) {
    HttpResponse reply = http_exchange(pipeline.port(), request.first, request.second,
                                       std::string(request.first) == "POST" ? "a=1" : "");
    fail_unless(reply.status == 405, "%s %s: %d", request.first, request.second, reply.status);
    fail_unless(reply.header("Allow") == "GET, HEAD", "%s %s: Allow '%s'", request.first,
                request.second, reply.header("Allow").c_str());
    fail_unless(reply.closed_by_server);
  }
  fail_unless_equals_uint64(pipeline.stat("viewers-total"), 0);
}
GST_END_TEST;

GST_START_TEST(test_head_stream) {
  const std::vector<Bytes> frames = test_frames(1);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);
  HttpResponse head = http_exchange(pipeline.port(), "HEAD", "/stream");
  fail_unless_equals_int(head.status, 200);
  check_stream_headers(head.headers);
  fail_unless(head.closed_by_server, "HEAD /stream did not end");
  fail_unless_equals_int(head.body.size(), 0);
  // A HEAD is not a viewer.
  fail_unless_equals_uint64(pipeline.stat("viewers-total"), 0);
  fail_unless_equals_int(pipeline.num_clients(), 0);
}
GST_END_TEST;

GST_START_TEST(test_index_page_shows_the_stream) {
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  check_index_page(pipeline.port(), "/stream");
  HttpResponse head = http_exchange(pipeline.port(), "HEAD", "/");
  fail_unless_equals_int(head.status, 200);
  fail_unless_equals_int(head.body.size(), 0);
}
GST_END_TEST;

GST_START_TEST(test_index_page_follows_stream_path) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "stream-path", "/cameras/front", "snapshot-path", "/still",
               "source-timeout", 0u, nullptr);
  fail_unless(pipeline.play());
  check_index_page(pipeline.port(), "/cameras/front");
  HttpResponse old_path = http_exchange(pipeline.port(), "GET", "/stream");
  fail_unless_equals_int(old_path.status, 404);
  HttpResponse snapshot = http_exchange(pipeline.port(), "GET", "/still");
  fail_unless_equals_int(snapshot.status, 503);
}
GST_END_TEST;

GST_START_TEST(test_max_clients_refuses_extra_viewers) {
  const std::vector<Bytes> frames = test_frames(3);
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "max-clients", 2u, nullptr);
  pipeline.start_serving(frames[0]);

  auto leaving = std::make_unique<RawViewer>(pipeline.port());
  RawViewer staying(pipeline.port());
  fail_unless(leaving->streaming() && staying.streaming());
  fail_unless(pipeline.await_num_clients(2));

  RawViewer refused(pipeline.port());
  fail_unless_equals_int(refused.head().status, 503);
  fail_unless(refused.head().header("Retry-After") == "5", "Retry-After '%s'",
              refused.head().header("Retry-After").c_str());
  fail_if(refused.streaming());
  SoupReply soup = soup_fetch(pipeline.port(), "GET", "/stream");
  fail_unless_equals_int(soup.status, 503);
  // Other requests are not viewers and still work.
  HttpResponse snapshot = http_exchange(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless_equals_int(pipeline.num_clients(), 2);

  leaving.reset();
  // A departed viewer is noticed when a frame is written to it.
  fail_unless(pipeline.pump_frames_until(frames[1], [&] { return pipeline.num_clients() == 1; }),
              "num-clients stayed %u", pipeline.num_clients());

  RawViewer admitted(pipeline.port());
  fail_unless_equals_int(admitted.head().status, 200);
  fail_unless(pipeline.await_num_clients(2));
  fail_unless(pipeline.push_jpeg(frames[2]));
  // Its first part is the latest frame at connect, then frames[2].
  fail_unless(admitted.await_parts(2), "%s", admitted.detail().c_str());
  fail_unless(admitted.parts()[1].body == frames[2]);
  fail_unless(await_condition([&] {
                const std::vector<StreamPart> parts = staying.parts();
                return !parts.empty() && parts.back().body == frames[2];
              }),
              "the viewer that stayed did not get the latest frame");
}
GST_END_TEST;

static Suite *element_http_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-http", "http",
      {NAMED_TEST(test_snapshot_before_first_frame_without_timeout),
       NAMED_TEST(test_snapshot_before_first_frame_is_the_placeholder),
       NAMED_TEST(test_snapshot_is_latest_frame), NAMED_TEST(test_snapshot_head),
       NAMED_TEST(test_unknown_path_is_404), NAMED_TEST(test_other_methods_are_405),
       NAMED_TEST(test_head_stream), NAMED_TEST(test_index_page_shows_the_stream),
       NAMED_TEST(test_index_page_follows_stream_path),
       NAMED_TEST(test_max_clients_refuses_extra_viewers)});
}

GST_CHECK_MAIN(element_http);
