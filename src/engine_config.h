// SPDX-License-Identifier: LGPL-2.1-or-later
// What one engine serves and how, as the application sets it. Every default
// is written here once (the element's properties take theirs from a
// default-constructed EngineConfig), and check() says what cannot work, and
// why, before anything starts.
#pragma once

#include <cstddef>
#include <string>

#include "http/http_server.h"
#include "http/mount_config.h"
#include "stream/frame_queue.h"

namespace mjpeghttp {

// Why an engine cannot run; the element maps each kind to a GStreamer error.
struct EngineError {
  enum class Kind {
    kNone,
    kSettings,      // a setting that cannot work, alone or beside another element's
    kUnreadable,    // a file a setting names cannot be read
    kCannotListen,  // the listening socket cannot be made (a port in use, ...)
  };
  Kind kind = Kind::kNone;
  std::string message;  // for the user: names the setting and what is wrong
};

struct EngineConfig {
  // Where and how the server listens, its request timeout and its access
  // rules: every element sharing a server must agree on them. Its TLS
  // identity is loaded by check() from the files below.
  ServerConfig server;
  // Comma-separated paths served without authentication; check() splits them
  // into server.access.exempt_paths.
  std::string auth_exempt_paths;
  // PEM files of the HTTPS identity; both empty = plain HTTP.
  std::string tls_certificate_file;
  std::string tls_key_file;

  MountConfig mount;       // its element_name labels /stats and /metrics
  size_t max_viewers = 0;  // 0 = unlimited
  size_t max_queued_frames = 2;
  QueuePolicy queue_policy = QueuePolicy::kDropOldest;
  unsigned viewer_timeout_ms = 10000;  // 0 = never
  unsigned idle_resend_ms = 1000;      // 0 = never; at least kMinIdleResendMs
  bool headers_in_advance = false;     // see MultipartFormat
  bool insert_dht = true;              // see jpeg_dht.h
  // With no frame for this long the source counts as offline (placeholder
  // pictures, /healthz 503); 0 = never offline once a frame came.
  unsigned source_timeout_ms = 2000;
  // A JPEG file shown while the source is offline, read by the element when
  // it starts (it hands the engine the bytes); empty = the NO SIGNAL picture.
  std::string placeholder_location;

  // Normalizes the mount, checks the paths and the access settings, and
  // loads the TLS identity. False with `error` filled when a setting cannot
  // work; nothing is started either way.
  bool check(EngineError *error);
};

// The shortest idle-resend period the engine uses.
constexpr unsigned kMinIdleResendMs = 100;

}  // namespace mjpeghttp
