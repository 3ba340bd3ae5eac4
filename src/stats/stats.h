// SPDX-License-Identifier: LGPL-2.1-or-later
// A point-in-time copy of the engine's counters and of every viewer's, taken
// without waiting on any viewer (atomics only). /stats, /metrics and the
// element's get-stats all render this one snapshot, so they always agree on
// what each counter means.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stats/leave_reason.h"

namespace mjpeghttp {

struct ViewerSnapshot {
  uint64_t id = 0;
  std::string address;  // "host:port"
  std::string user_agent;
  int64_t connected_us = 0;  // wall clock, microseconds since the epoch
  double connected_seconds = 0;
  double fps = 0;  // frames sent per second over the last few seconds
  uint64_t frames_sent = 0;
  uint64_t frames_dropped = 0;
  uint64_t bytes_sent = 0;
  size_t queue_depth = 0;
  // ustreamer's per-viewer stream options, as the viewer asked for them.
  bool advance_headers = false;
  bool dual_final_frames = false;
};

struct StatsSnapshot {
  std::string element_name;
  double uptime_seconds = 0;     // since the server started
  uint64_t frames_in = 0;        // buffers the element received
  uint64_t frames_rejected = 0;  // of which were not JPEG and were dropped
  uint64_t frames_published = 0;
  uint64_t frames_overflowed = 0;  // dropped for every viewer: the fan-out fell behind
  uint64_t frames_sent = 0;        // parts written, summed over viewers
  uint64_t frames_dropped = 0;     // frames viewers skipped (queue full)
  uint64_t bytes_served = 0;
  uint64_t viewers_total = 0;  // viewers since the server started
  size_t viewers_now = 0;
  // Viewers that left, by LeaveReason, for the reasons a served mount can
  // count. Once no viewer comes or goes, viewers_total == viewers_now + the
  // sum of these.
  std::array<uint64_t, kLeaveReasonsWhileServing> viewers_left{};
  // The source: online while frames arrive (see source-timeout).
  bool source_online = false;
  double last_frame_age_seconds = -1;  // -1 before the first frame
  unsigned width = 0, height = 0;      // 0 while unknown
  double captured_fps = 0;             // frames from the source per second
  double queued_fps = 0;               // frames handed to the viewers per second
  std::vector<ViewerSnapshot> viewers;
};

// ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z").
std::string format_iso8601(int64_t wall_clock_us);

// One mount of a server (one element) and where its endpoints are.
struct MountSnapshot {
  std::string mount;  // "/" for the root mount, else "/cam1"
  std::string page_path, stream_path, snapshot_path, stats_path, metrics_path;  // absolute
  StatsSnapshot stats;
};

// The renderings served over HTTP (stats_json.cpp, metrics_text.cpp).
// One mount's document.
std::string render_mount_stats_json(const MountSnapshot &mount);
// The whole server's: counters summed over mounts, every viewer (each with
// its mount), and each mount's own document under "streams". With a single
// mount its top-level fields are that mount's own.
std::string render_server_stats_json(const std::vector<MountSnapshot> &mounts,
                                     double uptime_seconds);
// The list of streams: each mount's paths and a few live figures.
std::string render_streams_json(const std::vector<MountSnapshot> &mounts);
// ustreamer's /state document (state_json.cpp) for one mount, or for the
// whole server: the first mount's (the root mount's if there is one), with
// every mount's under "streams".
std::string render_state_json(const MountSnapshot &mount);
std::string render_server_state_json(const std::vector<MountSnapshot> &mounts);
// Every mount's metrics, each sample labelled with its element and mount.
std::string render_metrics_text(const std::vector<MountSnapshot> &mounts);

}  // namespace mjpeghttp
