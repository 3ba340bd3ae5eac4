// SPDX-License-Identifier: LGPL-2.1-or-later
// Several engines on one server (one mount each), without GStreamer: each
// mount serves its own frames, a mount can leave and come back while another
// streams and while requests for it keep arriving, clashing settings are
// refused, and the server goes away with its last engine. Run under TSan too.
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "engine.h"
#include "engine_fixture.h"
#include "stream_client.h"
#include "test_support.h"

using namespace enginetest;
using namespace test_support;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kIoLimit(5000);

mjpeghttp::EngineConfig config_for(unsigned port, const std::string &mount) {
  mjpeghttp::EngineConfig config = mount_config(port, mount);
  config.mount.element_name = "engine" + mount;
  config.idle_resend_ms = 0;
  return config;
}

// Frames whose bytes say which engine and which frame they are.
void publish(mjpeghttp::Engine &engine, uint64_t seed, std::atomic<int> *outstanding) {
  auto *payload = new std::string(make_jpeg_like(seed, 2000 + seed % 97));
  outstanding->fetch_add(1);
  engine.publish(split_into_chunks(*payload, 2), static_cast<int64_t>(seed),
                 [payload, outstanding] {
                   delete payload;
                   outstanding->fetch_sub(1);
                 });
}

// Status of one whole request, or 0 when the exchange failed.
int status_of(unsigned port, const std::string &path) {
  StreamConnection client;
  HttpHead head;
  if (!client.request(port, "GET", path) ||
      !client.read_head(&head, StreamConnection::in(kIoLimit)))
    return 0;
  return head.status;
}

void test_each_mount_serves_its_own_frames() {
  std::atomic<int> outstanding{0};
  const unsigned port = test_support::free_port();
  auto [engine_a, engine_b] = start_two_mounts(config_for(port, "/a"), config_for(port, "/b"));
  mjpeghttp::Engine &a = *engine_a, &b = *engine_b;
  mjpeghttp::EngineError error;
  g_assert_cmpuint(a.bound_port(), ==, port);
  g_assert_cmpuint(b.bound_port(), ==, port);

  StreamConnection viewer_a, viewer_b;
  HttpHead head;
  g_assert_true(viewer_a.request(port, "GET", "/a/stream"));
  g_assert_true(viewer_a.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);
  g_assert_true(viewer_b.request(port, "GET", "/b/stream"));
  g_assert_true(viewer_b.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_cmpint(head.status, ==, 200);
  g_assert_true(
      await_condition([&] { return a.num_viewers() == 1 && b.num_viewers() == 1; }, kIoLimit));

  for (uint64_t i = 1; i <= 3; i++) {
    publish(a, 100 + i, &outstanding);
    publish(b, 200 + i, &outstanding);
    StreamPart part;
    g_assert_true(viewer_a.read_part(&part, StreamConnection::in(kIoLimit)));
    g_assert_true(part.body == make_jpeg_like(100 + i, 2000 + (100 + i) % 97));
    g_assert_true(viewer_b.read_part(&part, StreamConnection::in(kIoLimit)));
    g_assert_true(part.body == make_jpeg_like(200 + i, 2000 + (200 + i) % 97));
  }
  g_assert_cmpint(status_of(port, "/streams"), ==, 200);
  g_assert_cmpint(status_of(port, "/a/stats"), ==, 200);
  // A nested mount's bare path leads to its page relatively: the last
  // segment and a slash, which a browser resolves under any proxy prefix.
  {
    mjpeghttp::Engine nested(config_for(port, "/site/door"), {});
    g_assert_true(nested.start(&error));
    StreamConnection client;
    g_assert_true(client.request(port, "GET", "/site/door"));
    g_assert_true(client.read_head(&head, StreamConnection::in(kIoLimit)));
    g_assert_cmpint(head.status, ==, 301);
    const std::string location = head.header("location");
    g_assert_cmpstr(location.c_str(), ==, "door/");
    nested.stop();
  }
  g_assert_cmpint(status_of(port, "/stream"), ==, 404);
  a.stop();
  b.stop();
  // Each engine keeps its newest frame (for /snapshot) until it is deleted.
  engine_a.reset();
  engine_b.reset();
  g_assert_cmpint(outstanding.load(), ==, 0);
  g_assert_true(port_is_free(static_cast<int>(port)));
}

// Mount /a stops and starts again and again while requests for it keep
// coming and /b's viewer streams: /b's viewer never misses a frame and
// nothing races (this test runs under TSan).
void test_mount_churn_leaves_the_other_mount_alone() {
  std::atomic<int> outstanding{0};
  const unsigned port = test_support::free_port();
  auto engine_b =
      std::make_unique<mjpeghttp::Engine>(config_for(port, "/b"), mjpeghttp::EngineHooks{});
  mjpeghttp::Engine &b = *engine_b;
  mjpeghttp::EngineError error;
  g_assert_true(b.start(&error));

  StreamConnection viewer_b;
  HttpHead head;
  g_assert_true(viewer_b.request(port, "GET", "/b/stream"));
  g_assert_true(viewer_b.read_head(&head, StreamConnection::in(kIoLimit)));
  g_assert_true(await_condition([&] { return b.num_viewers() == 1; }, kIoLimit));

  std::atomic<bool> done{false};
  std::atomic<int> answered{0};
  std::thread requester([&] {
    const char *paths[] = {"/a/stream", "/a/snapshot", "/a/stats", "/streams", "/stats"};
    for (int i = 0; i < 2000 && !done.load(); i++) {
      // 200 (mounted), 404 (not mounted) or 503 (no frame yet); a stream
      // request may also be cut off by the mount leaving (0).
      const int status = status_of(port, paths[i % 5]);
      if (status == 200 || status == 404 || status == 503) answered.fetch_add(1);
    }
  });

  // At least 15 rounds, and on until some requests were answered while the
  // mount came and went: on a busy machine the requester's thread may not
  // have been scheduled at all during the first rounds.
  uint64_t seed = 1000;
  for (int round = 0; round < 15 || (answered.load() < 5 && round < 1000); round++) {
    mjpeghttp::Engine a(config_for(port, "/a"), {});
    g_assert_true(a.start(&error));
    publish(a, 1, &outstanding);
    publish(b, ++seed, &outstanding);
    StreamPart part;
    g_assert_true(viewer_b.read_part(&part, StreamConnection::in(kIoLimit)));
    g_assert_true(part.body == make_jpeg_like(seed, 2000 + seed % 97));
    a.stop();
  }
  done = true;
  requester.join();
  g_assert_cmpint(answered.load(), >=, 5);
  g_assert_cmpint(status_of(port, "/a/snapshot"), ==, 404);
  b.stop();
  engine_b.reset();
  g_assert_cmpint(outstanding.load(), ==, 0);
}

void test_clashing_settings_are_refused() {
  const unsigned port = test_support::free_port();
  mjpeghttp::Engine first(config_for(port, "/a"), {});
  mjpeghttp::EngineError error;
  g_assert_true(first.start(&error));

  mjpeghttp::Engine same_mount(config_for(port, "/a"), {});
  g_assert_false(same_mount.start(&error));
  g_assert_true(error.kind == mjpeghttp::EngineError::Kind::kSettings);
  g_assert_true(error.message.find("mount /a") != std::string::npos);
  g_assert_true(error.message.find("engine/a") != std::string::npos);

  mjpeghttp::EngineConfig other_timeout = config_for(port, "/b");
  other_timeout.server.request_timeout_ms = 3000;
  mjpeghttp::Engine slow(other_timeout, {});
  g_assert_false(slow.start(&error));
  g_assert_true(error.kind == mjpeghttp::EngineError::Kind::kSettings);
  g_assert_true(error.message.find("request-timeout") != std::string::npos);

  // The root mount's stream path inside /b's mount.
  mjpeghttp::Engine b(config_for(port, "/b"), {});
  g_assert_true(b.start(&error));
  mjpeghttp::EngineConfig root = config_for(port, "/");
  root.mount.stream_path = "/b/stream";
  mjpeghttp::Engine clashing_root(root, {});
  g_assert_false(clashing_root.start(&error));
  g_assert_true(error.message.find("/b/stream") != std::string::npos);

  // A port 0 engine never joins a server.
  mjpeghttp::Engine ephemeral(config_for(0, "/a"), {});
  g_assert_true(ephemeral.start(&error));
  g_assert_cmpuint(ephemeral.bound_port(), !=, port);
  ephemeral.stop();

  // The first engine was never disturbed.
  g_assert_cmpint(status_of(port, "/a/stats"), ==, 200);
  first.stop();
  g_assert_cmpint(status_of(port, "/a/stats"), ==, 404);
  b.stop();
  g_assert_true(port_is_free(static_cast<int>(port)));
}

// A mount named /stats can join beside a root mount whose statistics are
// elsewhere; once the root leaves, the server's own /stats takes that path
// back (the mount keeps /stats/ and below). Neither that nor anything else
// the mounts already had may stop a newcomer from joining.
void test_a_mount_joins_after_the_root_mount_left() {
  const unsigned port = test_support::free_port();
  mjpeghttp::EngineConfig root_config = config_for(port, "/");
  root_config.mount.stats_path = "/status";
  auto root = std::make_unique<mjpeghttp::Engine>(root_config, mjpeghttp::EngineHooks{});
  mjpeghttp::Engine named_stats(config_for(port, "/stats"), {});
  mjpeghttp::EngineError error;
  g_assert_true(root->start(&error));
  g_assert_true(named_stats.start(&error));
  root->stop();
  root.reset();
  g_assert_cmpint(status_of(port, "/stats"), ==, 200);
  g_assert_cmpint(status_of(port, "/stats/stats"), ==, 200);

  mjpeghttp::Engine newcomer(config_for(port, "/c"), {});
  const bool joined = newcomer.start(&error);
  g_assert_cmpstr(joined ? "" : error.message.c_str(), ==, "");
  g_assert_cmpint(status_of(port, "/c/stats"), ==, 200);
  newcomer.stop();
  named_stats.stop();
  g_assert_true(port_is_free(static_cast<int>(port)));
}

// A clash with one of the server's own documents names that document.
void test_a_clash_with_a_server_document_names_it() {
  const unsigned port = test_support::free_port();
  mjpeghttp::Engine first(config_for(port, "/a"), {});
  mjpeghttp::EngineError error;
  g_assert_true(first.start(&error));
  mjpeghttp::Engine metrics_mount(config_for(port, "/metrics"), {});
  g_assert_false(metrics_mount.start(&error));
  g_assert_true(error.kind == mjpeghttp::EngineError::Kind::kSettings);
  g_assert_true(error.message.find("the server's metrics") != std::string::npos);
  first.stop();
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/shared-server/each-mount-serves-its-own-frames",
                  test_each_mount_serves_its_own_frames);
  g_test_add_func("/shared-server/mount-churn-leaves-the-other-mount-alone",
                  test_mount_churn_leaves_the_other_mount_alone);
  g_test_add_func("/shared-server/clashing-settings-are-refused",
                  test_clashing_settings_are_refused);
  g_test_add_func("/shared-server/a-mount-joins-after-the-root-mount-left",
                  test_a_mount_joins_after_the_root_mount_left);
  g_test_add_func("/shared-server/a-clash-with-a-server-document-names-it",
                  test_a_clash_with_a_server_document_names_it);
  return g_test_run();
}
