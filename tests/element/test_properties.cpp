// SPDX-License-Identifier: LGPL-2.1-or-later
// Properties, their defaults, ranges and flags, the queue-policy enum, the
// signals, and current-port following the element's state.
#include <gst/check/gstcheck.h>

#include <string>

#include "await.h"
#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;

namespace {

GParamSpec *find_property(GstElement *element, const char *name) {
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name);
  fail_unless(pspec != nullptr, "no property %s", name);
  return pspec;
}

GstElement *new_sink() {
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", nullptr);
  fail_unless(sink != nullptr, "mjpeghttpsink is missing: is GST_PLUGIN_PATH set?");
  return GST_ELEMENT(gst_object_ref_sink(sink));
}

// Writable in NULL and READY only: the settings are copied when the server
// starts.
void check_settable_in_ready(GParamSpec *pspec) {
  fail_unless(pspec->flags & G_PARAM_READABLE, "%s not readable", pspec->name);
  fail_unless(pspec->flags & G_PARAM_WRITABLE, "%s not writable", pspec->name);
  fail_unless(pspec->flags & GST_PARAM_MUTABLE_READY, "%s not marked mutable-ready", pspec->name);
}

void check_read_only(GParamSpec *pspec) {
  fail_unless(pspec->flags & G_PARAM_READABLE, "%s not readable", pspec->name);
  fail_if(pspec->flags & G_PARAM_WRITABLE, "%s is writable", pspec->name);
}

void check_string(GstElement *sink, const char *name, const char *expected_default) {
  GParamSpec *pspec = find_property(sink, name);
  fail_unless_equals_int(pspec->value_type, G_TYPE_STRING);
  fail_unless_equals_string(G_PARAM_SPEC_STRING(pspec)->default_value, expected_default);
  check_settable_in_ready(pspec);
  gchar *value = nullptr;
  g_object_get(sink, name, &value, nullptr);
  fail_unless_equals_string(value, expected_default);
  g_free(value);
}

// A numeric property: its GType, range and default (from its GParamSpecInt,
// GParamSpecUInt or GParamSpecUInt64, given as `Spec`), and the default read
// back. Values are compared as the property's own type.
template <typename Spec, typename Value>
void check_number(GstElement *sink, const char *name, GType type, Value minimum, Value maximum,
                  Value expected_default) {
  GParamSpec *pspec = find_property(sink, name);
  fail_unless(pspec->value_type == type, "%s holds a %s, not a %s", name,
              g_type_name(pspec->value_type), g_type_name(type));
  const Spec *spec = reinterpret_cast<const Spec *>(pspec);
  fail_unless(spec->minimum == minimum, "%s: minimum %s, expected %s", name,
              std::to_string(spec->minimum).c_str(), std::to_string(minimum).c_str());
  fail_unless(spec->maximum == maximum, "%s: maximum %s, expected %s", name,
              std::to_string(spec->maximum).c_str(), std::to_string(maximum).c_str());
  fail_unless(spec->default_value == expected_default, "%s: default %s, expected %s", name,
              std::to_string(spec->default_value).c_str(),
              std::to_string(expected_default).c_str());
  // Starts as anything but the default, so a get that writes nothing fails.
  Value value = static_cast<Value>(~expected_default);
  g_object_get(sink, name, &value, nullptr);
  fail_unless(value == expected_default, "%s reads %s, expected %s", name,
              std::to_string(value).c_str(), std::to_string(expected_default).c_str());
}

void check_int(GstElement *sink, const char *name, gint minimum, gint maximum,
               gint expected_default) {
  check_number<GParamSpecInt>(sink, name, G_TYPE_INT, minimum, maximum, expected_default);
}

void check_uint(GstElement *sink, const char *name, guint minimum, guint maximum,
                guint expected_default) {
  check_number<GParamSpecUInt>(sink, name, G_TYPE_UINT, minimum, maximum, expected_default);
}

void check_uint64(GstElement *sink, const char *name, guint64 minimum, guint64 maximum,
                  guint64 expected_default) {
  check_number<GParamSpecUInt64>(sink, name, G_TYPE_UINT64, minimum, maximum, expected_default);
}

}  // namespace

GST_START_TEST(test_string_properties) {
  GstElement *sink = new_sink();
  check_string(sink, "address", "127.0.0.1");
  check_string(sink, "stream-path", "/stream");
  check_string(sink, "snapshot-path", "/snapshot");

  g_object_set(sink, "address", "::1", "stream-path", "/live", "snapshot-path", "/still.jpg",
               nullptr);
  gchar *address = nullptr, *stream_path = nullptr, *snapshot_path = nullptr;
  g_object_get(sink, "address", &address, "stream-path", &stream_path, "snapshot-path",
               &snapshot_path, nullptr);
  fail_unless_equals_string(address, "::1");
  fail_unless_equals_string(stream_path, "/live");
  fail_unless_equals_string(snapshot_path, "/still.jpg");
  g_free(address);
  g_free(stream_path);
  g_free(snapshot_path);

  // NULL puts a string setting back to its default rather than leaving it
  // empty (an empty path or address could never serve).
  g_object_set(sink, "address", nullptr, "stream-path", nullptr, "snapshot-path", nullptr, nullptr);
  check_string(sink, "address", "127.0.0.1");
  check_string(sink, "stream-path", "/stream");
  check_string(sink, "snapshot-path", "/snapshot");
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_numeric_properties) {
  GstElement *sink = new_sink();
  check_int(sink, "port", 0, 65535, 8080);
  check_settable_in_ready(find_property(sink, "port"));
  check_uint(sink, "max-clients", 0, G_MAXINT, 0);
  check_settable_in_ready(find_property(sink, "max-clients"));
  check_uint(sink, "max-queued-frames", 1, 1000, 2);
  check_settable_in_ready(find_property(sink, "max-queued-frames"));
  check_uint(sink, "client-timeout", 0, 3600, 10);
  check_settable_in_ready(find_property(sink, "client-timeout"));

  g_object_set(sink, "port", 0, "max-clients", 7, "max-queued-frames", 1000, "client-timeout", 0,
               nullptr);
  gint port = -1;
  guint max_clients = 0, max_queued = 0, timeout = 99;
  g_object_get(sink, "port", &port, "max-clients", &max_clients, "max-queued-frames", &max_queued,
               "client-timeout", &timeout, nullptr);
  fail_unless_equals_int(port, 0);
  fail_unless_equals_int(max_clients, 7);
  fail_unless_equals_int(max_queued, 1000);
  fail_unless_equals_int(timeout, 0);

  // Out of range is refused (GObject warns) and the setting stays.
  ASSERT_WARNING(g_object_set(sink, "max-queued-frames", 0u, nullptr));
  g_object_get(sink, "max-queued-frames", &max_queued, nullptr);
  fail_unless_equals_int(max_queued, 1000);
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_read_only_properties) {
  GstElement *sink = new_sink();
  check_read_only(find_property(sink, "current-port"));
  check_int(sink, "current-port", 0, 65535, 0);
  check_read_only(find_property(sink, "num-clients"));
  check_uint(sink, "num-clients", 0, G_MAXUINT, 0);
  check_read_only(find_property(sink, "bytes-served"));
  check_uint64(sink, "bytes-served", 0, G_MAXUINT64, 0);
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_queue_policy_enum) {
  GstElement *sink = new_sink();
  GParamSpec *pspec = find_property(sink, "queue-policy");
  check_settable_in_ready(pspec);
  fail_unless(G_IS_PARAM_SPEC_ENUM(pspec));
  // Marked as plugin API so the documentation generator lists it.
  fail_unless(gst_type_is_plugin_api(pspec->value_type, nullptr));

  GEnumClass *enum_class = G_PARAM_SPEC_ENUM(pspec)->enum_class;
  fail_unless_equals_int(enum_class->n_values, 3);
  const char *nicks[] = {"drop-oldest", "drop-newest", "disconnect"};
  for (const char *nick : nicks)
    fail_unless(g_enum_get_value_by_nick(enum_class, nick) != nullptr, "no value %s", nick);
  GEnumValue *fallback = g_enum_get_value(enum_class, G_PARAM_SPEC_ENUM(pspec)->default_value);
  fail_unless(fallback != nullptr);
  fail_unless_equals_string(fallback->value_nick, "drop-oldest");

  for (const char *nick : nicks) {
    // The way gst-launch sets it: by nick.
    gst_util_set_object_arg(G_OBJECT(sink), "queue-policy", nick);
    gint value = -1;
    g_object_get(sink, "queue-policy", &value, nullptr);
    fail_unless_equals_string(g_enum_get_value(enum_class, value)->value_nick, nick);
  }
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_signals_and_stats_when_stopped) {
  GstElement *sink = new_sink();
  GSignalQuery query;
  for (const char *name : {"client-added", "client-removed"}) {
    guint id = g_signal_lookup(name, G_OBJECT_TYPE(sink));
    fail_unless(id != 0, "no signal %s", name);
    g_signal_query(id, &query);
    fail_unless_equals_int(query.return_type, G_TYPE_NONE);
    fail_unless_equals_int(query.n_params, 1);
    fail_unless_equals_int(query.param_types[0] & ~G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_STRING);
  }
  // The reason comes as a second signal, so client-removed keeps the
  // signature existing handlers were written for; its detail is the nick.
  guint with_reason = g_signal_lookup("client-removed-with-reason", G_OBJECT_TYPE(sink));
  fail_unless(with_reason != 0);
  g_signal_query(with_reason, &query);
  fail_unless(query.signal_flags & G_SIGNAL_DETAILED);
  fail_unless_equals_int(query.return_type, G_TYPE_NONE);
  fail_unless_equals_int(query.n_params, 2);
  fail_unless_equals_int(query.param_types[0] & ~G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_STRING);
  const GType reason_type = query.param_types[1] & ~G_SIGNAL_TYPE_STATIC_SCOPE;
  fail_unless(G_TYPE_IS_ENUM(reason_type));
  fail_unless_equals_string(g_type_name(reason_type), "GstMjpegHttpSinkLeaveReason");
  GEnumClass *reasons = G_ENUM_CLASS(g_type_class_ref(reason_type));
  const char *nicks[] = {
      "closed", "write-error", "timeout", "queue-disconnect", "eos", "stopping", "mount-removed",
  };
  fail_unless_equals_int(reasons->n_values, G_N_ELEMENTS(nicks));
  for (const char *nick : nicks)
    fail_unless(g_enum_get_value_by_nick(reasons, nick) != nullptr, "no reason %s", nick);
  g_type_class_unref(reasons);

  guint id = g_signal_lookup("get-stats", G_OBJECT_TYPE(sink));
  fail_unless(id != 0);
  g_signal_query(id, &query);
  fail_unless(query.signal_flags & G_SIGNAL_ACTION);
  fail_unless_equals_int(query.return_type & ~G_SIGNAL_TYPE_STATIC_SCOPE, GST_TYPE_STRUCTURE);
  fail_unless_equals_int(query.n_params, 0);

  GstStructure *stats = nullptr;
  g_signal_emit_by_name(sink, "get-stats", &stats);
  fail_unless(stats != nullptr);
  fail_unless(gst_structure_has_name(stats, "mjpeghttpsink-stats"));
  for (const char *field : {"frames-in", "frames-rejected", "frames-published", "frames-overflowed",
                            "frames-sent", "frames-dropped", "bytes-served", "viewers-total"}) {
    guint64 value = 1;
    fail_unless(gst_structure_get_uint64(stats, field, &value), "no guint64 %s", field);
    fail_unless_equals_uint64(value, 0);
  }
  guint clients = 1;
  fail_unless(gst_structure_get_uint(stats, "num-clients", &clients));
  fail_unless_equals_int(clients, 0);
  gdouble uptime = 1;
  fail_unless(gst_structure_get_double(stats, "uptime", &uptime));
  fail_unless(uptime == 0.0);
  const GValue *viewers = gst_structure_get_value(stats, "viewers");
  fail_unless(viewers != nullptr && GST_VALUE_HOLDS_ARRAY(viewers));
  fail_unless_equals_int(gst_value_array_get_size(viewers), 0);
  GstStructure *left = nullptr;  // a copy
  fail_unless(gst_structure_get(stats, "viewers-left", GST_TYPE_STRUCTURE, &left, nullptr));
  // The reasons a running server can count; all zero while stopped.
  for (const char *reason : {"closed", "write-error", "timeout", "queue-disconnect", "eos"}) {
    guint64 value = 1;
    fail_unless(gst_structure_get_uint64(left, reason, &value), "no viewers-left %s", reason);
    fail_unless_equals_uint64(value, 0);
  }
  fail_unless_equals_int(gst_structure_n_fields(left), 5);
  gst_structure_free(left);
  fail_unless_equals_int(gst_structure_n_fields(stats), 12);
  gst_structure_free(stats);
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_current_port_follows_state) {
  GstElement *sink = new_sink();
  g_object_set(sink, "port", 0, nullptr);
  gint port = -1;
  g_object_get(sink, "current-port", &port, nullptr);
  fail_unless_equals_int(port, 0);

  // A lone sink never prerolls, so PAUSED stays pending; the server listens
  // all the same.
  fail_if(gst_element_set_state(sink, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  g_object_get(sink, "current-port", &port, nullptr);
  fail_unless(port > 0 && port <= 65535, "current-port %d in PAUSED", port);
  {
    RawSocket connection(port);
    fail_unless(connection.ok(), "nothing accepts connections on port %d", port);
  }
  HttpResponse index = http_exchange(port, "GET", "/");
  fail_unless_equals_int(index.status, 200);

  const gint listened_on = port;
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  g_object_get(sink, "current-port", &port, nullptr);
  fail_unless_equals_int(port, 0);
  RawSocket after_stop(listened_on);
  fail_if(after_stop.ok(), "port %d still accepts connections after NULL", listened_on);
  gst_object_unref(sink);
}
GST_END_TEST;

// current-port is documented as 0 outside PAUSED/PLAYING, and port and the
// other settings as changeable in READY: both need the server to start with
// READY->PAUSED, not NULL->READY.
GST_START_TEST(test_ready_does_not_listen) {
  GstElement *sink = new_sink();
  g_object_set(sink, "port", 0, nullptr);
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  gint port = -1;
  g_object_get(sink, "current-port", &port, nullptr);
  gst_element_set_state(sink, GST_STATE_NULL);
  gst_object_unref(sink);
  fail_unless_equals_int(port, 0);
}
GST_END_TEST;

GST_START_TEST(test_settings_changed_in_ready_apply) {
  // Learn a free port, then ask for it while in READY.
  GstElement *sink = new_sink();
  g_object_set(sink, "port", 0, nullptr);
  gint wanted = 0;
  fail_if(gst_element_set_state(sink, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  g_object_get(sink, "current-port", &wanted, nullptr);
  gst_element_set_state(sink, GST_STATE_NULL);
  fail_unless(wanted > 0);

  g_object_set(sink, "port", 0, nullptr);
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_set(sink, "port", wanted, "stream-path", "/changed-in-ready", nullptr);
  fail_if(gst_element_set_state(sink, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  gint port = 0;
  g_object_get(sink, "current-port", &port, nullptr);
  HttpResponse head = http_exchange(port, "HEAD", "/changed-in-ready");
  gst_element_set_state(sink, GST_STATE_NULL);
  gst_object_unref(sink);
  fail_unless_equals_int(port, wanted);
  fail_unless_equals_int(head.status, 200);
}
GST_END_TEST;

GST_START_TEST(test_current_port_in_playing) {
  SinkPipeline pipeline;
  fail_unless_equals_int(pipeline.port(), 0);
  int notified = 0;
  g_signal_connect(
      pipeline.sink(), "notify::current-port",
      G_CALLBACK(+[](GObject *, GParamSpec *, gpointer count) { ++*static_cast<int *>(count); }),
      &notified);
  fail_unless(pipeline.play());
  const int port = pipeline.port();
  fail_unless(port > 0, "current-port %d in PLAYING", port);
  fail_unless(notified >= 1, "no notify::current-port when the server started");
  gint configured = -1;
  g_object_get(pipeline.sink(), "port", &configured, nullptr);
  fail_unless_equals_int(configured, 0);  // the setting is not overwritten
  RawSocket connection(port);
  fail_unless(connection.ok(), "nothing accepts connections on port %d", port);
  pipeline.stop();
  fail_unless_equals_int(pipeline.port(), 0);
  g_signal_handlers_disconnect_by_data(pipeline.sink(), &notified);
}
GST_END_TEST;

static Suite *element_properties_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-properties", "properties",
      {NAMED_TEST(test_string_properties), NAMED_TEST(test_numeric_properties),
       NAMED_TEST(test_read_only_properties), NAMED_TEST(test_queue_policy_enum),
       NAMED_TEST(test_signals_and_stats_when_stopped), NAMED_TEST(test_current_port_follows_state),
       NAMED_TEST(test_ready_does_not_listen), NAMED_TEST(test_settings_changed_in_ready_apply),
       NAMED_TEST(test_current_port_in_playing)});
}

GST_CHECK_MAIN(element_properties);
