// SPDX-License-Identifier: LGPL-2.1-or-later
#include <json-glib/json-glib.h>

#include "stats/stats.h"

namespace mjpeghttp {

namespace {

void add_uint(JsonBuilder *builder, const char *name, uint64_t value) {
  json_builder_set_member_name(builder, name);
  // JSON numbers are doubles to most readers; int64 keeps every counter a
  // reader can hold exactly for 2^53 events.
  json_builder_add_int_value(builder, static_cast<gint64>(value));
}

void add_double(JsonBuilder *builder, const char *name, double value, double scale) {
  json_builder_set_member_name(builder, name);
  // Rounded so a poller's diff shows real changes, not float noise.
  json_builder_add_double_value(
      builder, static_cast<double>(static_cast<int64_t>(value * scale + 0.5)) / scale);
}

void add_string(JsonBuilder *builder, const char *name, const std::string &value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_string_value(builder, value.c_str());
}

void add_viewer(JsonBuilder *builder, const ViewerSnapshot &viewer, const std::string *mount) {
  json_builder_begin_object(builder);
  add_uint(builder, "id", viewer.id);
  if (mount) add_string(builder, "mount", *mount);
  add_string(builder, "address", viewer.address);
  add_string(builder, "user_agent", viewer.user_agent);
  add_string(builder, "connected_since", format_iso8601(viewer.connected_us));
  add_double(builder, "connected_seconds", viewer.connected_seconds, 1000);
  add_double(builder, "fps", viewer.fps, 100);
  add_uint(builder, "frames_sent", viewer.frames_sent);
  add_uint(builder, "frames_dropped", viewer.frames_dropped);
  add_uint(builder, "queue_depth", viewer.queue_depth);
  add_uint(builder, "bytes_sent", viewer.bytes_sent);
  json_builder_end_object(builder);
}

void add_counters(JsonBuilder *builder, const StatsSnapshot &stats) {
  add_uint(builder, "frames_in", stats.frames_in);
  add_uint(builder, "frames_rejected", stats.frames_rejected);
  add_uint(builder, "frames_published", stats.frames_published);
  add_uint(builder, "frames_overflowed", stats.frames_overflowed);
  add_uint(builder, "frames_sent", stats.frames_sent);
  add_uint(builder, "frames_dropped", stats.frames_dropped);
  add_uint(builder, "bytes_served", stats.bytes_served);
  add_uint(builder, "viewers_now", stats.viewers_now);
  add_uint(builder, "viewers_total", stats.viewers_total);
  json_builder_set_member_name(builder, "viewers_left");
  json_builder_begin_object(builder);
  for (size_t i = 0; i < stats.viewers_left.size(); i++)
    add_uint(builder, leave_reason_name(static_cast<LeaveReason>(i)), stats.viewers_left[i]);
  json_builder_end_object(builder);
}

void add_paths(JsonBuilder *builder, const MountSnapshot &mount) {
  add_string(builder, "mount", mount.mount);
  add_string(builder, "element", mount.stats.element_name);
  add_string(builder, "page", mount.page_path);
  add_string(builder, "stream", mount.stream_path);
  add_string(builder, "snapshot", mount.snapshot_path);
  add_string(builder, "stats", mount.stats_path);
  add_string(builder, "metrics", mount.metrics_path);
}

// A mount's own document; its viewers only when `with_viewers`.
void add_mount(JsonBuilder *builder, const MountSnapshot &mount, bool with_viewers) {
  json_builder_begin_object(builder);
  add_paths(builder, mount);
  add_double(builder, "uptime_seconds", mount.stats.uptime_seconds, 1000);
  add_counters(builder, mount.stats);
  json_builder_set_member_name(builder, "source_online");
  json_builder_add_boolean_value(builder, mount.stats.source_online);
  // -1 (no frame yet) as it is: the rounding below is for positive values.
  if (mount.stats.last_frame_age_seconds < 0) {
    json_builder_set_member_name(builder, "last_frame_age_seconds");
    json_builder_add_int_value(builder, -1);
  } else {
    add_double(builder, "last_frame_age_seconds", mount.stats.last_frame_age_seconds, 1000);
  }
  if (with_viewers) {
    json_builder_set_member_name(builder, "viewers");
    json_builder_begin_array(builder);
    for (const ViewerSnapshot &viewer : mount.stats.viewers) add_viewer(builder, viewer, nullptr);
    json_builder_end_array(builder);
  }
  json_builder_end_object(builder);
}

std::string finish(JsonBuilder *builder) {
  JsonNode *root = json_builder_get_root(builder);
  JsonGenerator *generator = json_generator_new();
  json_generator_set_root(generator, root);
  json_generator_set_pretty(generator, TRUE);
  gchar *text = json_generator_to_data(generator, nullptr);
  std::string json = std::string(text) + "\n";
  g_free(text);
  g_object_unref(generator);
  json_node_unref(root);
  g_object_unref(builder);
  return json;
}

}  // namespace

std::string render_mount_stats_json(const MountSnapshot &mount) {
  JsonBuilder *builder = json_builder_new();
  add_mount(builder, mount, true);
  return finish(builder);
}

std::string render_server_stats_json(const std::vector<MountSnapshot> &mounts,
                                     double uptime_seconds) {
  StatsSnapshot total;
  std::string element;
  for (const MountSnapshot &mount : mounts) {
    const StatsSnapshot &s = mount.stats;
    total.frames_in += s.frames_in;
    total.frames_rejected += s.frames_rejected;
    total.frames_published += s.frames_published;
    total.frames_overflowed += s.frames_overflowed;
    total.frames_sent += s.frames_sent;
    total.frames_dropped += s.frames_dropped;
    total.bytes_served += s.bytes_served;
    total.viewers_now += s.viewers_now;
    total.viewers_total += s.viewers_total;
    for (size_t i = 0; i < total.viewers_left.size(); i++)
      total.viewers_left[i] += s.viewers_left[i];
    if (mount.mount == "/") element = s.element_name;
  }
  // One element alone reads exactly as its own document did before mounts.
  if (mounts.size() == 1) {
    element = mounts[0].stats.element_name;
    uptime_seconds = mounts[0].stats.uptime_seconds;
  }
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  add_string(builder, "element", element);
  add_double(builder, "uptime_seconds", uptime_seconds, 1000);
  add_counters(builder, total);
  json_builder_set_member_name(builder, "viewers");
  json_builder_begin_array(builder);
  for (const MountSnapshot &mount : mounts)
    for (const ViewerSnapshot &viewer : mount.stats.viewers)
      add_viewer(builder, viewer, &mount.mount);
  json_builder_end_array(builder);
  json_builder_set_member_name(builder, "streams");
  json_builder_begin_array(builder);
  for (const MountSnapshot &mount : mounts) add_mount(builder, mount, false);
  json_builder_end_array(builder);
  json_builder_end_object(builder);
  return finish(builder);
}

std::string render_streams_json(const std::vector<MountSnapshot> &mounts) {
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "streams");
  json_builder_begin_array(builder);
  for (const MountSnapshot &mount : mounts) {
    json_builder_begin_object(builder);
    add_paths(builder, mount);
    add_uint(builder, "frames_published", mount.stats.frames_published);
    add_uint(builder, "viewers_now", mount.stats.viewers_now);
    json_builder_end_object(builder);
  }
  json_builder_end_array(builder);
  json_builder_end_object(builder);
  return finish(builder);
}

}  // namespace mjpeghttp
