// SPDX-License-Identifier: LGPL-2.1-or-later
// The URLs and behaviours clients written for mjpg-streamer and ustreamer
// rely on, end to end through a real server on a loopback port and raw-socket
// viewers.
#include <glib.h>

#include "engine_fixture.h"
#include "stream/multipart.h"
#include "stream/placeholder_picture.h"
#include "stream_client.h"

using enginetest::EngineFixture;
using enginetest::make_jpeg_like;
using enginetest::mount_config;
using enginetest::start_two_mounts;
using enginetest::test_config;
using std::chrono::milliseconds;
using test_support::await_condition;
using test_support::HttpHead;
using test_support::StreamConnection;
using test_support::StreamPart;

namespace {

constexpr milliseconds kIoLimit(5000);
constexpr int64_t kBaseTime = INT64_C(1700000000000000);

HttpHead head_of(unsigned port, const std::string &method, const std::string &path,
                 StreamConnection *viewer) {
  HttpHead head;
  g_assert_true(viewer->request(port, method, path));
  g_assert_true(viewer->read_head(&head, StreamConnection::in(kIoLimit)));
  return head;
}

// Starts `fixture` with a first frame, make_jpeg_like(seed, size), to
// serve: the URLs these clients use all expect one. The port it serves on.
unsigned start_serving(EngineFixture &fixture, uint64_t seed, size_t size) {
  const unsigned port = fixture.start();
  fixture.publish(seed, size, kBaseTime);
  return port;
}

mjpeghttp::EngineConfig on_mount(const std::string &mount) {
  mjpeghttp::EngineConfig config = test_config();
  config.mount.mount = mount;
  return config;
}

void check_actions(const std::string &page) {
  EngineFixture fixture(on_mount(page == "/" ? "/" : page.substr(0, page.size() - 1)));
  const unsigned port = start_serving(fixture, 3, 4000);

  StreamConnection stream;
  HttpHead head = head_of(port, "GET", page + "?action=stream", &stream);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), fixture.engine->format().content_type());
  StreamPart part;
  g_assert_true(stream.read_part(&part, StreamConnection::in(kIoLimit)));
  g_assert_true(part.body == make_jpeg_like(3, 4000));
  assert_text_eq(part.headers.at("content-length"), "4000");

  StreamConnection snapshot;
  head = head_of(port, "GET", page + "?action=snapshot", &snapshot);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), "image/jpeg");
  std::string body;
  g_assert_true(snapshot.read_exactly(4000, &body, StreamConnection::in(kIoLimit)));
  g_assert_true(body == make_jpeg_like(3, 4000));

  // The stream's own parameters apply to the mjpg-streamer URL too.
  StreamConnection bad_fps;
  g_assert_cmpint(head_of(port, "GET", page + "?action=stream&fps=0", &bad_fps).status, ==, 400);
  StreamConnection unknown;
  g_assert_cmpint(head_of(port, "GET", page + "?action=take_picture", &unknown).status, ==, 400);
  // Without an action the page is still the page.
  StreamConnection plain;
  head = head_of(port, "GET", page, &plain);
  g_assert_cmpint(head.status, ==, 200);
  assert_text_eq(head.header("Content-Type"), "text/html; charset=utf-8");
}

void test_actions_on_root_mount() { check_actions("/"); }
void test_actions_on_named_mount() { check_actions("/cam1/"); }

// What the placeholder hook was asked for and what the source did.
struct SourceEvents {
  std::atomic<int> offline{0};
  std::atomic<int> online{0};
  std::atomic<int64_t> lost_at_us{-1};
  std::atomic<unsigned> width{0};
  std::atomic<unsigned> height{0};
};

constexpr uint64_t kPlaceholderSeed = 999;
constexpr size_t kPlaceholderSize = 2345;

mjpeghttp::EngineHooks placeholder_hooks(SourceEvents *events) {
  mjpeghttp::EngineHooks hooks;
  hooks.make_placeholder = [events](unsigned width, unsigned height, int64_t) {
    events->width.store(width);
    events->height.store(height);
    return make_jpeg_like(kPlaceholderSeed, kPlaceholderSize);
  };
  hooks.source_changed = [events](bool online, int64_t lost_at_us) {
    if (online) {
      events->online.fetch_add(1);
    } else {
      events->lost_at_us.store(lost_at_us);
      events->offline.fetch_add(1);
    }
  };
  return hooks;
}

// GET `path` and its whole body (the server closes every connection).
struct Reply {
  HttpHead head;
  std::string body;
};
Reply fetch(unsigned port, const std::string &path) {
  StreamConnection viewer;
  Reply reply;
  reply.head = head_of(port, "GET", path, &viewer);
  const std::string length = reply.head.header("Content-Length");
  if (!length.empty())
    g_assert_true(
        viewer.read_exactly(std::stoul(length), &reply.body, StreamConnection::in(kIoLimit)));
  return reply;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

void test_source_loss_and_return() {
  mjpeghttp::EngineConfig config = test_config();
  config.source_timeout_ms = 300;
  // Idle resends off: every part after the last frame is a placeholder.
  config.idle_resend_ms = 0;
  SourceEvents events;
  EngineFixture fixture(config, placeholder_hooks(&events));
  const unsigned port = fixture.start();
  fixture.engine->set_resolution(320, 240);

  // No frame yet: offline.
  g_assert_cmpint(fetch(port, "/healthz").head.status, ==, 503);
  g_assert_true(contains(fetch(port, "/state").body, "\"online\":false"));

  fixture.publish(1, 5000, kBaseTime);
  // The frame flips the state at once: no waiting for any thread.
  g_assert_cmpint(fetch(port, "/healthz").head.status, ==, 200);
  Reply state = fetch(port, "/state");
  g_assert_true(contains(state.body, "\"ok\":true"));
  g_assert_true(contains(state.body, "\"online\":true"));
  g_assert_true(contains(state.body, "\"resolution\":{\"width\":320,\"height\":240}"));

  StreamConnection viewer;
  g_assert_cmpint(head_of(port, "GET", "/stream", &viewer).status, ==, 200);
  StreamPart part;
  g_assert_true(viewer.read_part(&part, StreamConnection::in(kIoLimit)));
  g_assert_true(part.body == make_jpeg_like(1, 5000));

  // The source goes silent: the viewer gets the placeholder, twice (it
  // keeps coming while offline), each a complete part with Content-Length.
  for (int i = 0; i < 2; i++) {
    g_assert_true(viewer.read_part(&part, StreamConnection::in(kIoLimit)));
    g_assert_true(part.body == make_jpeg_like(kPlaceholderSeed, kPlaceholderSize));
    assert_text_eq(part.headers.at("content-length"), std::to_string(kPlaceholderSize));
  }
  g_assert_cmpint(events.offline.load(), ==, 1);
  g_assert_cmpint(events.lost_at_us.load(), >, 0);
  g_assert_cmpuint(events.width.load(), ==, 320);
  g_assert_cmpuint(events.height.load(), ==, 240);
  Reply health = fetch(port, "/healthz");
  g_assert_cmpint(health.head.status, ==, 503);
  g_assert_true(contains(health.body, "/ offline"));
  Reply snapshot = fetch(port, "/snapshot");
  g_assert_cmpint(snapshot.head.status, ==, 200);
  assert_text_eq(snapshot.head.header("X-Source-Online"), "0");
  g_assert_true(snapshot.body == make_jpeg_like(kPlaceholderSeed, kPlaceholderSize));
  Reply metrics = fetch(port, "/metrics");
  g_assert_true(contains(metrics.body, "mjpeghttpsink_source_online{element=\"\",mount=\"/\"} 0"));
  g_assert_true(contains(metrics.body, "mjpeghttpsink_last_frame_age_seconds{"));
  g_assert_true(contains(fetch(port, "/state").body, "\"online\":false"));

  // Frames return: everything flips back at once.
  fixture.publish(2, 6000, kBaseTime + 1000);
  g_assert_cmpint(fetch(port, "/healthz").head.status, ==, 200);
  snapshot = fetch(port, "/snapshot");
  assert_text_eq(snapshot.head.header("X-Source-Online"), "1");
  g_assert_true(snapshot.body == make_jpeg_like(2, 6000));
  bool got_frame = false;
  for (int i = 0; i < 5 && !got_frame; i++) {
    g_assert_true(viewer.read_part(&part, StreamConnection::in(kIoLimit)));
    got_frame = part.body == make_jpeg_like(2, 6000);
  }
  g_assert_true(got_frame);
  g_assert_true(await_condition([&] { return events.online.load() == 1; }, kIoLimit));
}

void test_snapshot_waits_for_first_frame() {
  mjpeghttp::EngineConfig config = test_config();
  config.source_timeout_ms = 300;
  SourceEvents events;
  EngineFixture fixture(config, placeholder_hooks(&events));
  const unsigned port = fixture.start();
  // Never a 503 any more: with no frame at all, the answer is the
  // placeholder once source-timeout has passed.
  Reply snapshot = fetch(port, "/snapshot");
  g_assert_cmpint(snapshot.head.status, ==, 200);
  assert_text_eq(snapshot.head.header("X-Source-Online"), "0");
  g_assert_true(snapshot.body == make_jpeg_like(kPlaceholderSeed, kPlaceholderSize));
}

void test_snapshot_wait_next() {
  mjpeghttp::EngineConfig config = test_config();
  config.source_timeout_ms = 3000;
  EngineFixture fixture(config);
  const unsigned port = start_serving(fixture, 1, 3000);

  StreamConnection waiting;
  g_assert_true(waiting.request(port, "GET", "/snapshot?wait=next"));
  // Frames keep coming until the answer does; it must be one published
  // after the request, never the frame that was there before it.
  HttpHead head;
  uint64_t seed = 2;
  std::string answered_by;
  g_assert_true(await_condition(
      [&] {
        if (waiting.read_head(&head, StreamConnection::in(milliseconds(20)))) return true;
        fixture.publish(seed, 3000 + seed, kBaseTime + static_cast<int64_t>(seed));
        seed++;
        return false;
      },
      kIoLimit));
  g_assert_cmpint(head.status, ==, 200);
  std::string body;
  const size_t size = std::stoul(head.header("Content-Length"));
  g_assert_cmpuint(size, !=, 3000);
  g_assert_true(waiting.read_exactly(size, &body, StreamConnection::in(kIoLimit)));
  g_assert_true(body == make_jpeg_like(size - 3000, size));
  // X-Frame-Age: seconds since the frame was published, a small number.
  const double age = g_ascii_strtod(head.header("X-Frame-Age").c_str(), nullptr);
  g_assert_cmpfloat(age, >=, 0);
  g_assert_cmpfloat(age, <, 5);
  assert_text_eq(head.header("X-Source-Online"), "1");

  StreamConnection bad;
  g_assert_cmpint(head_of(port, "GET", "/snapshot?wait=forever", &bad).status, ==, 400);
}

void test_advance_headers_per_viewer() {
  mjpeghttp::EngineConfig config = test_config();
  config.idle_resend_ms = 0;
  EngineFixture fixture(config);
  const unsigned port = start_serving(fixture, 4, 3000);
  const mjpeghttp::MultipartFormat advance(fixture.engine->format().boundary(), true);

  // Asked for: headers in advance, so no Content-Length in the parts.
  StreamConnection asked;
  g_assert_cmpint(head_of(port, "GET", "/stream?advance_headers=1", &asked).status, ==, 200);
  const std::string expected = advance.opening() + make_jpeg_like(4, 3000) + advance.trailer();
  std::string bytes;
  g_assert_true(asked.read_exactly(expected.size(), &bytes, StreamConnection::in(kIoLimit)));
  g_assert_true(bytes == expected);
  g_assert_true(contains(fetch(port, "/state").body, "\"advance_headers\":true"));

  // Not asked for: the property's framing, Content-Length in every part.
  StreamConnection plain;
  g_assert_cmpint(head_of(port, "GET", "/stream?advance_headers=0", &plain).status, ==, 200);
  StreamPart part;
  g_assert_true(plain.read_part(&part, StreamConnection::in(kIoLimit)));
  assert_text_eq(part.headers.at("content-length"), "3000");

  StreamConnection bad;
  g_assert_cmpint(head_of(port, "GET", "/stream?advance_headers=maybe", &bad).status, ==, 400);
}

void test_dual_final_frames() {
  mjpeghttp::EngineConfig config = test_config();
  config.idle_resend_ms = 0;  // only dual_final_frames repeats anything
  EngineFixture fixture(config);
  const unsigned port = start_serving(fixture, 1, 2000);
  StreamConnection viewer;
  g_assert_cmpint(head_of(port, "GET", "/stream?dual_final_frames=1", &viewer).status, ==, 200);
  StreamPart part;
  g_assert_true(viewer.read_part(&part, StreamConnection::in(kIoLimit)));
  g_assert_true(await_condition([&] { return fixture.added.load() == 1; }, kIoLimit));
  fixture.publish(2, 2100, kBaseTime + 1);
  // The new frame, then, as the source pauses, the same frame once more.
  for (int i = 0; i < 2; i++) {
    g_assert_true(viewer.read_part(&part, StreamConnection::in(kIoLimit)));
    g_assert_true(part.body == make_jpeg_like(2, 2100));
  }
  g_assert_true(contains(fetch(port, "/state").body, "\"dual_final_frames\":true"));
}

void test_health_and_state_of_several_mounts() {
  std::atomic<int> released{0};
  const unsigned port = test_support::free_port();
  auto [engine_a, engine_b] = start_two_mounts(mount_config(port, "/a"), mount_config(port, "/b"));
  mjpeghttp::Engine &a = *engine_a, &b = *engine_b;
  auto publish = [&released](mjpeghttp::Engine &engine, uint64_t seed) {
    auto *payload = new std::string(make_jpeg_like(seed, 1500));
    engine.publish({{payload->data(), payload->size()}}, kBaseTime, [payload, &released] {
      delete payload;
      released.fetch_add(1);
    });
  };
  publish(a, 1);
  g_assert_cmpint(fetch(port, "/a/healthz").head.status, ==, 200);
  g_assert_cmpint(fetch(port, "/b/healthz").head.status, ==, 503);
  Reply server = fetch(port, "/healthz");
  g_assert_cmpint(server.head.status, ==, 503);
  g_assert_true(contains(server.body, "/a online"));
  g_assert_true(contains(server.body, "/b offline"));
  Reply state = fetch(port, "/state");
  g_assert_true(contains(state.body, "\"streams\":{\"/a\":"));
  g_assert_true(contains(state.body, "\"/b\":{"));
  g_assert_true(contains(fetch(port, "/b/state").body, "\"online\":false"));
  // mjpg-streamer's URLs belong to a mount; the listing at / has none.
  g_assert_cmpint(fetch(port, "/a/?action=snapshot").head.status, ==, 200);
  g_assert_cmpint(fetch(port, "/a?action=snapshot").head.status, ==, 200);
  g_assert_cmpint(fetch(port, "/?action=stream").head.status, ==, 404);

  publish(b, 2);
  g_assert_cmpint(fetch(port, "/healthz").head.status, ==, 200);
  // The engines hold their latest frame until they go.
  engine_b.reset();
  engine_a.reset();
  g_assert_cmpint(released.load(), ==, 2);
}

size_t ink_pixels(const mjpeghttp::GreyPicture &picture) {
  size_t ink = 0;
  for (uint8_t pixel : picture.pixels)
    if (pixel > 128) ink++;
  return ink;
}

void test_no_signal_picture() {
  // 2026-12-02 12:34:56 UTC.
  const int64_t lost_at = INT64_C(1796214896) * 1000000;
  assert_text_eq(mjpeghttp::no_signal_time_line(lost_at), "SINCE 2026-12-02 12:34:56 UTC");
  const mjpeghttp::GreyPicture without_time = mjpeghttp::draw_no_signal(320, 240, 0);
  const mjpeghttp::GreyPicture with_time = mjpeghttp::draw_no_signal(320, 240, lost_at);
  g_assert_cmpuint(with_time.width, ==, 320);
  g_assert_cmpuint(with_time.height, ==, 240);
  g_assert_cmpuint(with_time.pixels.size(), ==, 320 * 240);
  // "NO SIGNAL" is drawn, and the time line adds ink of its own.
  g_assert_cmpuint(ink_pixels(without_time), >, 500);
  g_assert_cmpuint(ink_pixels(with_time), >, ink_pixels(without_time) + 200);
  // A tiny size still makes a picture.
  g_assert_cmpuint(mjpeghttp::draw_no_signal(1, 1, lost_at).pixels.size(), ==, 16 * 16);
  // A frame header may claim 65535x65535 (a hostile or broken source): the
  // placeholder stays a camera-sized picture instead of 4 GiB of pixels.
  const mjpeghttp::GreyPicture huge = mjpeghttp::draw_no_signal(65535, 65535, lost_at);
  g_assert_cmpuint(huge.width, <=, 4096);
  g_assert_cmpuint(huge.height, <=, 4096);
  g_assert_cmpuint(huge.pixels.size(), ==, size_t{huge.width} * huge.height);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/webcam/actions-on-root-mount", test_actions_on_root_mount);
  g_test_add_func("/webcam/actions-on-named-mount", test_actions_on_named_mount);
  g_test_add_func("/webcam/source-loss-and-return", test_source_loss_and_return);
  g_test_add_func("/webcam/snapshot-waits-for-first-frame", test_snapshot_waits_for_first_frame);
  g_test_add_func("/webcam/snapshot-wait-next", test_snapshot_wait_next);
  g_test_add_func("/webcam/advance-headers-per-viewer", test_advance_headers_per_viewer);
  g_test_add_func("/webcam/dual-final-frames", test_dual_final_frames);
  g_test_add_func("/webcam/health-and-state-of-several-mounts",
                  test_health_and_state_of_several_mounts);
  g_test_add_func("/webcam/no-signal-picture", test_no_signal_picture);
  return g_test_run();
}
