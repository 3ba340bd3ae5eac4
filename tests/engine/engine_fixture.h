// SPDX-License-Identifier: LGPL-2.1-or-later
// An Engine serving on an ephemeral loopback port, with counted viewer hooks
// and frames published from memory whose release is counted.
#pragma once

#include <dirent.h>
#include <glib.h>

#include <atomic>
#include <memory>
#include <string>

#include "engine.h"
#include "test_support.h"

namespace enginetest {

// The product's defaults less idle resends and the source timeout: parts the
// test did not publish would come between two publishes whenever a loaded
// machine keeps the test off the CPU for a second. A test that wants them
// sets them.
inline mjpeghttp::EngineConfig test_config() {
  mjpeghttp::EngineConfig config;
  config.idle_resend_ms = 0;
  config.source_timeout_ms = 0;
  return config;
}

class EngineFixture {
 public:
  explicit EngineFixture(mjpeghttp::EngineConfig config = test_config(),
                         mjpeghttp::EngineHooks hooks = {}) {
    config.server.listen.address = "127.0.0.1";
    config.server.listen.port = 0;
    hooks.viewer_added = [this](const mjpeghttp::ViewerInfo &) { added.fetch_add(1); };
    hooks.viewer_removed = [this](const mjpeghttp::ViewerInfo &info) {
      left_for[static_cast<size_t>(info.reason)].fetch_add(1);
      removed.fetch_add(1);
    };
    engine = std::make_unique<mjpeghttp::Engine>(std::move(config), std::move(hooks));
  }

  unsigned start() {
    mjpeghttp::EngineError error;
    if (!engine->start(&error)) g_error("engine did not start: %s", error.message.c_str());
    g_assert_cmpuint(engine->bound_port(), !=, 0);
    return engine->bound_port();
  }

  // Publishes the bytes make_jpeg_like(seed, size) in `pieces` chunks; the
  // copy handed to the engine lives until the engine releases it.
  void publish(uint64_t seed, size_t size, int64_t timestamp_us, size_t pieces = 3) {
    auto *payload = new std::string(make_jpeg_like(seed, size));
    std::vector<iovec> chunks = split_into_chunks(*payload, pieces);
    ReleaseCounter *released = &counter;
    published.fetch_add(1);
    engine->publish(std::move(chunks), timestamp_us, [payload, released] {
      delete payload;
      released->released.fetch_add(1);
    });
  }

  std::unique_ptr<mjpeghttp::Engine> engine;
  ReleaseCounter counter;
  std::atomic<uint64_t> published{0};
  std::atomic<int> added{0};
  std::atomic<int> removed{0};
  // Viewers the removed hook reported, by LeaveReason.
  std::atomic<int> left_for[mjpeghttp::kLeaveReasonCount] = {};
};

// A mount's engine configured to listen on loopback `port`: engines share a
// server by the port they are configured with.
inline mjpeghttp::EngineConfig mount_config(unsigned port, const std::string &mount) {
  mjpeghttp::EngineConfig config = test_config();
  config.server.listen.address = "127.0.0.1";
  config.server.listen.port = port;
  config.mount.mount = mount;
  return config;
}

// Two engines on one server (their configs name the same port, a mount
// each), both started. Deleting them is the caller's: each keeps its newest
// frame until it goes.
struct TwoMounts {
  std::unique_ptr<mjpeghttp::Engine> first, second;
};
inline TwoMounts start_two_mounts(mjpeghttp::EngineConfig first, mjpeghttp::EngineConfig second) {
  g_assert_cmpuint(first.server.listen.port, ==, second.server.listen.port);
  TwoMounts engines{
      std::make_unique<mjpeghttp::Engine>(std::move(first), mjpeghttp::EngineHooks{}),
      std::make_unique<mjpeghttp::Engine>(std::move(second), mjpeghttp::EngineHooks{})};
  for (mjpeghttp::Engine *engine : {engines.first.get(), engines.second.get()}) {
    mjpeghttp::EngineError error;
    if (!engine->start(&error)) g_error("engine did not start: %s", error.message.c_str());
  }
  return engines;
}

// Threads of this process right now.
inline size_t count_threads() {
  size_t count = 0;
  DIR *tasks = opendir("/proc/self/task");
  g_assert_nonnull(tasks);
  while (dirent *entry = readdir(tasks))
    if (entry->d_name[0] != '.') count++;
  closedir(tasks);
  return count;
}

}  // namespace enginetest
