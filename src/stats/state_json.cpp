// SPDX-License-Identifier: LGPL-2.1-or-later
// ustreamer's GET /state, in the shape its clients (its own page, PiKVM,
// crowsnest and the tools that poll it for "online") read:
// {"ok": true, "result": {"source": {...}, "stream": {...}}}. Fields this
// server has no notion of (encoder, sinks) are left out; desired_fps is 0,
// as ustreamer reports for "as fast as the source".
#include <json-glib/json-glib.h>

#include <cmath>

#include "stats/stats.h"

namespace mjpeghttp {

namespace {

void member_uint(JsonBuilder *builder, const char *name, uint64_t value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_int_value(builder, static_cast<gint64>(value));
}

// ustreamer reports whole frames per second.
void member_fps(JsonBuilder *builder, const char *name, double fps) {
  member_uint(builder, name, static_cast<uint64_t>(std::lround(fps)));
}

void member_bool(JsonBuilder *builder, const char *name, bool value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_boolean_value(builder, value);
}

void add_result(JsonBuilder *builder, const MountSnapshot &mount) {
  const StatsSnapshot &stats = mount.stats;
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "instance_id");
  json_builder_add_string_value(builder, mount.mount.c_str());
  json_builder_set_member_name(builder, "source");
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "resolution");
  json_builder_begin_object(builder);
  member_uint(builder, "width", stats.width);
  member_uint(builder, "height", stats.height);
  json_builder_end_object(builder);
  member_bool(builder, "online", stats.source_online);
  member_uint(builder, "desired_fps", 0);
  member_fps(builder, "captured_fps", stats.captured_fps);
  json_builder_end_object(builder);
  json_builder_set_member_name(builder, "stream");
  json_builder_begin_object(builder);
  member_fps(builder, "queued_fps", stats.queued_fps);
  member_uint(builder, "clients", stats.viewers_now);
  json_builder_set_member_name(builder, "clients_stat");
  json_builder_begin_object(builder);
  for (const ViewerSnapshot &viewer : stats.viewers) {
    json_builder_set_member_name(builder, std::to_string(viewer.id).c_str());
    json_builder_begin_object(builder);
    member_fps(builder, "fps", viewer.fps);
    member_bool(builder, "extra_headers", false);
    member_bool(builder, "advance_headers", viewer.advance_headers);
    member_bool(builder, "dual_final_frames", viewer.dual_final_frames);
    member_bool(builder, "zero_data", false);
    json_builder_set_member_name(builder, "key");
    json_builder_add_string_value(builder, "");
    json_builder_end_object(builder);
  }
  json_builder_end_object(builder);  // clients_stat
  json_builder_end_object(builder);  // stream
  json_builder_end_object(builder);  // result
}

std::string render(JsonBuilder *builder) {
  JsonNode *root = json_builder_get_root(builder);
  gchar *text = json_to_string(root, FALSE);
  std::string result = text;
  g_free(text);
  json_node_unref(root);
  g_object_unref(builder);
  return result + "\n";
}

void begin_document(JsonBuilder *builder) {
  json_builder_begin_object(builder);
  member_bool(builder, "ok", true);
  json_builder_set_member_name(builder, "result");
}

}  // namespace

std::string render_state_json(const MountSnapshot &mount) {
  JsonBuilder *builder = json_builder_new();
  begin_document(builder);
  add_result(builder, mount);
  json_builder_end_object(builder);
  return render(builder);
}

std::string render_server_state_json(const std::vector<MountSnapshot> &mounts) {
  JsonBuilder *builder = json_builder_new();
  begin_document(builder);
  const MountSnapshot *main = nullptr;
  for (const MountSnapshot &mount : mounts)
    if (mount.mount == "/") main = &mount;
  if (!main && !mounts.empty()) main = &mounts[0];
  if (main) {
    // The root mount (or the first) answers as a lone ustreamer would; the
    // other mounts follow under "streams", keyed by mount.
    add_result(builder, *main);
  } else {
    json_builder_begin_object(builder);
    json_builder_end_object(builder);
  }
  json_builder_set_member_name(builder, "streams");
  json_builder_begin_object(builder);
  for (const MountSnapshot &mount : mounts) {
    json_builder_set_member_name(builder, mount.mount.c_str());
    add_result(builder, mount);
  }
  json_builder_end_object(builder);
  json_builder_end_object(builder);
  return render(builder);
}

}  // namespace mjpeghttp
