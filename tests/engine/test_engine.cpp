// SPDX-License-Identifier: LGPL-2.1-or-later
// The engine end to end without GStreamer: a real HTTP server on an
// ephemeral loopback port, raw-socket viewers, frames published from memory.
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "stream_client.h"

using namespace enginetest;
using namespace test_support;
using mjpeghttp::MultipartFormat;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kIoLimit(5000);
constexpr int64_t kBaseTime = INT64_C(1700000000000000);

void assert_stream_head(const HttpHead &head, const mjpeghttp::Engine &engine) {
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), engine.format().content_type());
  assert_text_eq(head.header("Cache-Control"), "no-cache, no-store, must-revalidate");
  assert_text_eq(head.header("Pragma"), "no-cache");
  assert_text_eq(head.header("Expires"), "0");
  assert_text_eq(head.header("Connection"), "close");
  assert_text_eq(head.header("X-Accel-Buffering"), "no");
  g_assert_true(head.headers.count("content-length") == 0);
  g_assert_true(head.headers.count("transfer-encoding") == 0);
}

// "<seconds>.<microseconds>" of a time after the epoch.
std::string seconds_text(int64_t timestamp_us) {
  char text[48];
  g_snprintf(text, sizeof text, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT, timestamp_us / 1000000,
             timestamp_us % 1000000);
  return text;
}

void assert_part(const StreamPart &part, uint64_t seed, size_t size, int64_t timestamp_us) {
  assert_text_eq(part.headers.at("content-type"), "image/jpeg");
  assert_text_eq(part.headers.at("content-length"), std::to_string(size));
  assert_text_eq(part.headers.at("x-timestamp"), seconds_text(timestamp_us));
  g_assert_true(part.body == make_jpeg_like(seed, size));
}

size_t frame_size(uint64_t seed) { return 1000 + seed * 7777; }

void test_stream_delivers_published_frames() {
  EngineFixture fixture;
  mjpeghttp::Engine &engine = *fixture.engine;
  const unsigned port = fixture.start();
  const MultipartFormat &format = engine.format();

  StreamConnection viewer;
  g_assert_true(viewer.request(port, "GET", "/stream"));
  HttpHead head;
  g_assert_true(viewer.read_head(&head, StreamConnection::in(kIoLimit)));
  assert_stream_head(head, engine);
  g_assert_true(await_condition([&] { return fixture.added.load() == 1; }, kIoLimit));
  g_assert_cmpuint(engine.num_viewers(), ==, 1);

  // Each frame is read before the next is published, so none is dropped:
  // the viewer must see every one of them, whole and in order.
  constexpr uint64_t kFrames = 6;
  size_t expected_bytes = format.opening().size();
  for (uint64_t seed = 1; seed <= kFrames; seed++) {
    const int64_t timestamp = kBaseTime + static_cast<int64_t>(seed) * 33333;
    fixture.publish(seed, frame_size(seed), timestamp, seed % 4 + 1);
    StreamPart part;
    if (!viewer.read_part(&part, StreamConnection::in(kIoLimit)))
      g_error("%s", viewer.error().c_str());
    assert_part(part, seed, frame_size(seed), timestamp);
    g_assert_false(part.closing);
    expected_bytes += MultipartFormat::part_header(frame_size(seed), timestamp).size() +
                      frame_size(seed) + format.trailer().size();
  }

  // EOS: one more part repeating the latest frame, the close delimiter,
  // then the server closes the connection.
  g_assert_true(engine.end_of_stream(kIoLimit));
  StreamPart last;
  if (!viewer.read_part(&last, StreamConnection::in(kIoLimit)))
    g_error("%s", viewer.error().c_str());
  g_assert_true(last.closing);
  assert_part(last, kFrames, frame_size(kFrames), kBaseTime + kFrames * 33333);
  expected_bytes +=
      MultipartFormat::part_header(frame_size(kFrames), kBaseTime + kFrames * 33333).size() +
      frame_size(kFrames) + format.closing_trailer().size();
  g_assert_true(viewer.await_close(StreamConnection::in(kIoLimit)));
  g_assert_true(await_condition([&] { return fixture.removed.load() == 1; }, kIoLimit));
  const size_t eos = static_cast<size_t>(mjpeghttp::LeaveReason::kEndOfStream);
  g_assert_cmpint(fixture.left_for[eos].load(), ==, 1);

  mjpeghttp::StatsSnapshot stats = engine.snapshot();
  g_assert_cmpuint(stats.frames_published, ==, kFrames);
  g_assert_cmpuint(stats.frames_sent, ==, kFrames + 1);
  g_assert_cmpuint(stats.frames_dropped, ==, 0);
  g_assert_cmpuint(stats.viewers_total, ==, 1);
  g_assert_cmpuint(stats.viewers_now, ==, 0);
  g_assert_cmpuint(stats.viewers_left[eos], ==, 1);
  g_assert_cmpuint(stats.bytes_served, ==, expected_bytes);

  engine.stop();
  // Only the dispatcher's "latest" may outlive stop(); nothing outlives the
  // engine itself.
  g_assert_cmpuint(fixture.counter.released.load(), >=, kFrames - 1);
  fixture.engine.reset();
  g_assert_cmpuint(fixture.counter.released.load(), ==, fixture.published.load());
}

void test_new_viewer_gets_latest_at_once() {
  EngineFixture fixture;
  const unsigned port = fixture.start();
  for (uint64_t seed = 1; seed <= 3; seed++) fixture.publish(seed, frame_size(seed), kBaseTime);
  // With nobody watching, only the latest frame is kept (the fan-out runs on
  // its own thread, so the older two are let go shortly after publish).
  g_assert_true(await_condition([&] { return fixture.counter.released.load() == 2; }, kIoLimit));
  g_assert_cmpuint(fixture.counter.released.load(), ==, 2);

  StreamConnection viewer;
  g_assert_true(viewer.request(port, "GET", "/stream"));
  HttpHead head;
  g_assert_true(viewer.read_head(&head, StreamConnection::in(kIoLimit)));
  StreamPart part;
  if (!viewer.read_part(&part, StreamConnection::in(kIoLimit)))
    g_error("%s", viewer.error().c_str());
  assert_part(part, 3, frame_size(3), kBaseTime);

  fixture.engine.reset();
  g_assert_cmpuint(fixture.counter.released.load(), ==, 3);
  g_assert_true(viewer.await_close(StreamConnection::in(kIoLimit)));
}

void test_end_without_frames() {
  EngineFixture fixture;
  const unsigned port = fixture.start();
  StreamConnection viewer;
  g_assert_true(viewer.request(port, "GET", "/stream"));
  HttpHead head;
  g_assert_true(viewer.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);
  g_assert_true(await_condition([&] { return fixture.added.load() == 1; }, kIoLimit));
  g_assert_true(fixture.engine->end_of_stream(kIoLimit));
  const std::string &closing = fixture.engine->format().bare_closing();
  std::string body;
  g_assert_true(viewer.read_exactly(closing.size(), &body, StreamConnection::in(kIoLimit)));
  assert_text_eq(body, closing);
  g_assert_true(viewer.await_close(StreamConnection::in(kIoLimit)));
}

void serve_viewers_once(size_t viewers) {
  EngineFixture fixture;
  const unsigned port = fixture.start();
  std::vector<std::unique_ptr<StreamConnection>> open;
  for (size_t i = 0; i < viewers; i++) {
    open.push_back(std::make_unique<StreamConnection>());
    g_assert_true(open.back()->request(port, "GET", "/stream"));
  }
  g_assert_true(
      await_condition([&] { return fixture.added.load() == static_cast<int>(viewers); }, kIoLimit));
  fixture.engine->stop();
}

void test_stop_joins_viewer_threads() {
  // A first session lets GLib and libsoup create whatever threads they keep
  // for the life of the process, so they do not count against the engine.
  serve_viewers_once(1);
  const size_t baseline = count_threads();

  mjpeghttp::EngineConfig config = test_config();
  config.viewer_timeout_ms = 60000;
  EngineFixture fixture(config);
  const unsigned port = fixture.start();
  constexpr int kViewers = 4;
  std::vector<std::unique_ptr<StreamConnection>> viewers;
  for (int i = 0; i < kViewers; i++) {
    viewers.push_back(std::make_unique<StreamConnection>());
    g_assert_true(viewers.back()->request(port, "GET", "/stream"));
  }
  g_assert_true(await_condition([&] { return fixture.added.load() == kViewers; }, kIoLimit));
  // One thread per viewer plus the HTTP thread.
  g_assert_cmpuint(count_threads(), >=, baseline + kViewers + 1);

  // None of the viewers reads: with frames far larger than the socket
  // buffers, their threads end up blocked writing, and stop() must wake
  // them without waiting for the 60 s client timeout.
  for (uint64_t seed = 1; seed <= 8; seed++) fixture.publish(seed, 4 << 20, kBaseTime);

  const auto before_stop = std::chrono::steady_clock::now();
  fixture.engine->stop();
  const auto stop_took = std::chrono::steady_clock::now() - before_stop;
  g_assert_cmpint(std::chrono::duration_cast<milliseconds>(stop_took).count(), <, 5000);
  g_assert_cmpint(fixture.removed.load(), ==, kViewers);
  // Woken in their writes by the stop, and told the server stopped with
  // the engine (no other engine shared it).
  g_assert_cmpint(fixture.left_for[static_cast<size_t>(mjpeghttp::LeaveReason::kStopping)].load(),
                  ==, kViewers);
  g_assert_cmpuint(fixture.engine->num_viewers(), ==, 0);
  // A joined thread leaves /proc/self/task a moment after pthread_join
  // returns (the kernel reaps it after waking the joiner).
  g_assert_true(await_condition([&] { return count_threads() == baseline; }, kIoLimit));
  fixture.engine.reset();
  g_assert_cmpuint(fixture.counter.released.load(), ==, fixture.published.load());
}

void test_port_in_use() {
  int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(holder, >=, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert_cmpint(bind(holder, reinterpret_cast<sockaddr *>(&address), sizeof address), ==, 0);
  g_assert_cmpint(listen(holder, 1), ==, 0);
  socklen_t length = sizeof address;
  g_assert_cmpint(getsockname(holder, reinterpret_cast<sockaddr *>(&address), &length), ==, 0);
  const unsigned taken = ntohs(address.sin_port);

  mjpeghttp::EngineConfig config = test_config();
  config.server.listen.port = taken;
  mjpeghttp::Engine engine(config, {});
  mjpeghttp::EngineError error;
  g_assert_false(engine.start(&error));
  g_assert_true(error.kind == mjpeghttp::EngineError::Kind::kCannotListen);
  const std::string prefix = "Could not listen on 127.0.0.1:" + std::to_string(taken) + ": ";
  assert_text_eq(error.message.substr(0, prefix.size()), prefix);
  g_assert_cmpuint(error.message.size(), >, prefix.size());
  close(holder);
}

void test_max_clients() {
  mjpeghttp::EngineConfig config = test_config();
  config.max_viewers = 1;
  EngineFixture fixture(config);
  const unsigned port = fixture.start();

  auto first = std::make_unique<StreamConnection>();
  g_assert_true(first->request(port, "GET", "/stream"));
  HttpHead head;
  g_assert_true(first->read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);

  StreamConnection refused;
  g_assert_true(refused.request(port, "GET", "/stream"));
  g_assert_true(refused.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 503);
  assert_text_eq(head.header("Retry-After"), "5");
  assert_text_eq(head.header("Connection"), "close");

  // The first viewer leaves; its thread notices on its next writes and
  // frees the slot.
  first.reset();
  uint64_t seed = 1;
  g_assert_true(await_condition(
      [&] {
        fixture.publish(seed++, 256 * 1024, kBaseTime);
        return fixture.removed.load() == 1;
      },
      kIoLimit));

  StreamConnection admitted;
  g_assert_true(admitted.request(port, "GET", "/stream"));
  g_assert_true(admitted.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);
}

void test_snapshot_and_head() {
  EngineFixture fixture;
  const unsigned port = fixture.start();
  HttpHead head;

  StreamConnection early;
  g_assert_true(early.request(port, "GET", "/snapshot"));
  g_assert_true(early.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 503);
  assert_text_eq(head.header("Retry-After"), "1");

  const int64_t timestamp = kBaseTime + 654321;
  fixture.publish(9, 50000, timestamp);
  StreamConnection snapshot;
  g_assert_true(snapshot.request(port, "GET", "/snapshot"));
  g_assert_true(snapshot.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), "image/jpeg");
  assert_text_eq(head.header("Content-Length"), "50000");
  assert_text_eq(head.header("X-Timestamp"), seconds_text(timestamp));
  std::string body;
  g_assert_true(snapshot.read_exactly(50000, &body, StreamConnection::in(kIoLimit)));
  g_assert_true(body == make_jpeg_like(9, 50000));
  g_assert_true(snapshot.await_close(StreamConnection::in(kIoLimit)));

  // HEAD on the stream: its headers, no body, no viewer.
  StreamConnection peek;
  g_assert_true(peek.request(port, "HEAD", "/stream"));
  g_assert_true(peek.read_head(&head, StreamConnection::in(kIoLimit)));
  assert_stream_head(head, *fixture.engine);
  g_assert_true(peek.await_close(StreamConnection::in(kIoLimit)));
  g_assert_cmpint(fixture.added.load(), ==, 0);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/engine/stream-delivers-published-frames",
                  test_stream_delivers_published_frames);
  g_test_add_func("/engine/new-viewer-gets-latest-at-once", test_new_viewer_gets_latest_at_once);
  g_test_add_func("/engine/end-without-frames", test_end_without_frames);
  g_test_add_func("/engine/stop-joins-viewer-threads", test_stop_joins_viewer_threads);
  g_test_add_func("/engine/port-in-use", test_port_in_use);
  g_test_add_func("/engine/max-clients", test_max_clients);
  g_test_add_func("/engine/snapshot-and-head", test_snapshot_and_head);
  return g_test_run();
}
