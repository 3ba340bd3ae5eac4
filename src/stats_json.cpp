#include <json-glib/json-glib.h>

#include "stats.h"

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
  json_builder_add_double_value(builder, static_cast<double>(static_cast<int64_t>(value * scale + 0.5)) / scale);
}

void add_string(JsonBuilder *builder, const char *name, const std::string &value) {
  json_builder_set_member_name(builder, name);
  json_builder_add_string_value(builder, value.c_str());
}

void add_viewer(JsonBuilder *builder, const ViewerSnapshot &viewer) {
  json_builder_begin_object(builder);
  add_uint(builder, "id", viewer.id);
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

}  // namespace

std::string render_stats_json(const StatsSnapshot &stats) {
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  add_string(builder, "element", stats.element_name);
  add_double(builder, "uptime_seconds", stats.uptime_seconds, 1000);
  add_uint(builder, "frames_in", stats.frames_in);
  add_uint(builder, "frames_rejected", stats.frames_rejected);
  add_uint(builder, "frames_published", stats.frames_published);
  add_uint(builder, "frames_overflowed", stats.frames_overflowed);
  add_uint(builder, "frames_sent", stats.frames_sent);
  add_uint(builder, "frames_dropped", stats.frames_dropped);
  add_uint(builder, "bytes_served", stats.bytes_served);
  add_uint(builder, "viewers_now", stats.viewers_now);
  add_uint(builder, "viewers_total", stats.viewers_total);
  json_builder_set_member_name(builder, "viewers");
  json_builder_begin_array(builder);
  for (const ViewerSnapshot &viewer : stats.viewers) add_viewer(builder, viewer);
  json_builder_end_array(builder);
  json_builder_end_object(builder);

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

}  // namespace mjpeghttp
