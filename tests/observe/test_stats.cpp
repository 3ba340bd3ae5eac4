// SPDX-License-Identifier: LGPL-2.1-or-later
// Observability through real clients: /stats (JSON), /metrics (Prometheus
// text), get-stats and the viewer bus messages, all read from a live element
// while raw viewers watch it.
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <string>

#include "await.h"
#include "check_suite.h"
#include "exposition.h"
#include "observe_documents.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;
using namespace observe_test;

namespace {

Bytes not_a_jpeg() { return Bytes("plain text, no start-of-image marker"); }

}  // namespace

GST_START_TEST(test_stats_json_counts_frames_and_viewers) {
  const std::vector<Bytes> frames = distinct_jpegs(4);
  SinkPipeline pipeline;
  // Counts must be exact: no frame may be dropped from a viewer's queue when
  // its thread is slow to run.
  g_object_set(pipeline.sink(), "max-queued-frames", 16u, nullptr);
  pipeline.start_serving(frames[0]);
  fail_unless(pipeline.push_and_await(buffer_from_bytes(not_a_jpeg()), "frames-rejected"));

  RawViewer first(pipeline.port());
  RawViewer second(pipeline.port());
  fail_unless(first.streaming() && second.streaming());
  fail_unless(pipeline.await_num_clients(2));
  for (size_t i = 1; i < frames.size(); i++) fail_unless(pipeline.push_jpeg(frames[i]));
  // Each viewer gets the latest frame on joining, then the three new ones.
  fail_unless(first.await_parts(4) && second.await_parts(4));
  fail_unless(await_condition([&] { return pipeline.stat("frames-sent") == 8; }));

  JsonDocument stats(pipeline.port(), "/stats");
  const std::string element = JsonDocument::string_of(stats.root(), "element");
  fail_unless_equals_string(element.c_str(), "sink");
  fail_unless(JsonDocument::number_of(stats.root(), "uptime_seconds") > 0);
  fail_unless_equals_int(stats.integer("frames_in"), 5);
  fail_unless_equals_int(stats.integer("frames_rejected"), 1);
  fail_unless_equals_int(stats.integer("frames_published"), 4);
  fail_unless_equals_int(stats.integer("frames_sent"), 8);
  fail_unless_equals_int(stats.integer("frames_dropped"), 0);
  fail_unless_equals_int(stats.integer("viewers_now"), 2);
  fail_unless_equals_int(stats.integer("viewers_total"), 2);
  fail_unless_equals_int(stats.integer("bytes_served"),
                         static_cast<gint64>(pipeline.stat("bytes-served")));
  fail_unless_equals_int(stats.viewer_count(), 2);

  gint64 bytes_of_viewers = 0;
  for (const RawViewer *viewer : {&first, &second}) {
    JsonObject *entry = stats.viewer(viewer->local_port());
    fail_unless(entry != nullptr, "viewer on port %d missing", viewer->local_port());
    fail_unless(JsonDocument::integer_of(entry, "id") > 0);
    const std::string agent = JsonDocument::string_of(entry, "user_agent");
    fail_unless_equals_string(agent.c_str(), "element-test-raw");
    fail_unless_equals_int(JsonDocument::integer_of(entry, "frames_sent"), 4);
    fail_unless_equals_int(JsonDocument::integer_of(entry, "frames_dropped"), 0);
    fail_unless_equals_int(JsonDocument::integer_of(entry, "queue_depth"), 0);
    const gint64 sent = JsonDocument::integer_of(entry, "bytes_sent");
    // What the viewer parsed as JPEG bodies is part of what was sent to it.
    fail_unless(
        sent > static_cast<gint64>(viewer->body_bytes()) - 1 &&
            static_cast<guint64>(sent) >=
                [&] {
                  guint64 jpeg_bytes = 0;
                  for (const StreamPart &part : viewer->parts()) jpeg_bytes += part.body.size();
                  return jpeg_bytes;
                }(),
        "bytes_sent %" G_GINT64_FORMAT, sent);
    bytes_of_viewers += sent;

    const std::string since = JsonDocument::string_of(entry, "connected_since");
    GDateTime *parsed = g_date_time_new_from_iso8601(since.c_str(), nullptr);
    fail_unless(parsed != nullptr, "connected_since '%s' is not ISO 8601", since.c_str());
    const gint64 age_s = g_get_real_time() / G_USEC_PER_SEC - g_date_time_to_unix(parsed);
    g_date_time_unref(parsed);
    fail_unless(age_s >= 0 && age_s < 60, "connected %" G_GINT64_FORMAT " s ago", age_s);
    fail_unless(JsonDocument::number_of(entry, "connected_seconds") >= 0);
  }
  fail_unless_equals_int(bytes_of_viewers, stats.integer("bytes_served"));

  first.leave();
  fail_unless(pipeline.await_num_clients(1));
  JsonDocument after(pipeline.port(), "/stats");
  fail_unless_equals_int(after.integer("viewers_now"), 1);
  fail_unless_equals_int(after.integer("viewers_total"), 2);
  fail_unless(after.viewer(first.local_port()) == nullptr, "a viewer that left is still listed");
  fail_unless(after.viewer(second.local_port()) != nullptr);
}
GST_END_TEST;

GST_START_TEST(test_stats_fps_follows_the_send_rate) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming() && pipeline.await_num_clients(1));

  const gint64 start = g_get_monotonic_time();
  fail_unless(pipeline.pump_frames_until(
      frames[0], [&] { return g_get_monotonic_time() - start >= 1500 * 1000; }));
  const double elapsed_s = static_cast<double>(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  fail_unless(
      await_condition([&] { return viewer.parts().size() == pipeline.stat("frames-sent"); }));
  const double pushed_fps = static_cast<double>(pipeline.stat("frames-published") - 1) / elapsed_s;

  JsonDocument stats(pipeline.port(), "/stats");
  JsonObject *entry = stats.viewer(viewer.local_port());
  fail_unless(entry != nullptr);
  const double fps = JsonDocument::number_of(entry, "fps");
  // The window (3 s) covers the whole run, so the measured rate is the
  // pushed rate, give or take the edges of the run.
  fail_unless(pushed_fps > 5, "only %.1f frames/s pushed", pushed_fps);
  fail_unless(fps > pushed_fps * 0.6 && fps < pushed_fps * 1.4, "fps %.2f, pushed %.2f/s", fps,
              pushed_fps);
}
GST_END_TEST;

// A viewer that reads nothing fills its socket and then its queue: its own
// drops show in /stats, and /stats (served while that viewer's thread is
// stuck writing) still answers at once.
GST_START_TEST(test_stalled_viewer_drops_show_and_do_not_block_stats) {
  const std::vector<Bytes> frames = encode_jpegs(2, "snow", 640, 480);
  fail_unless_equals_int(frames.size(), 2);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);

  RawSocket stalled(pipeline.port());
  fail_unless(stalled.ok());
  fail_unless(
      stalled.send_all("GET /stream HTTP/1.1\r\nHost: x\r\nUser-Agent: never-reads\r\n\r\n"));
  HttpHead head;
  fail_unless(stalled.read_head(&head));
  fail_unless_equals_int(head.status, 200);
  fail_unless(pipeline.await_num_clients(1));

  size_t turn = 0;
  fail_unless(pipeline.pump_frames_until(frames[++turn % 2],
                                         [&] {
                                           JsonDocument stats(pipeline.port(), "/stats");
                                           JsonObject *entry = stats.viewer(stalled.local_port());
                                           return entry && JsonDocument::integer_of(
                                                               entry, "frames_dropped") > 0;
                                         }),
              "the stalled viewer never dropped a frame");

  JsonDocument stats(pipeline.port(), "/stats");
  JsonObject *entry = stats.viewer(stalled.local_port());
  fail_unless(entry != nullptr);
  const std::string agent = JsonDocument::string_of(entry, "user_agent");
  fail_unless_equals_string(agent.c_str(), "never-reads");
  const gint64 dropped = JsonDocument::integer_of(entry, "frames_dropped");
  fail_unless(stats.integer("frames_dropped") >= dropped);
  fail_unless(JsonDocument::integer_of(entry, "frames_sent") +
                  JsonDocument::integer_of(entry, "queue_depth") + dropped <=
              stats.integer("frames_published") + 1);
}
GST_END_TEST;

GST_START_TEST(test_get_stats_lists_viewers) {
  const std::vector<Bytes> frames = distinct_jpegs(2);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming() && pipeline.await_num_clients(1));
  fail_unless(pipeline.push_jpeg(frames[1]));
  fail_unless(viewer.await_parts(2));
  fail_unless(await_condition([&] { return pipeline.stat("frames-sent") == 2; }));

  GstStructure *stats = nullptr;
  g_signal_emit_by_name(pipeline.sink(), "get-stats", &stats);
  fail_unless(stats != nullptr);
  gdouble uptime = 0;
  fail_unless(gst_structure_get_double(stats, "uptime", &uptime) && uptime > 0);
  const GValue *viewers = gst_structure_get_value(stats, "viewers");
  fail_unless(viewers && GST_VALUE_HOLDS_ARRAY(viewers));
  fail_unless_equals_int(gst_value_array_get_size(viewers), 1);
  const GstStructure *entry = gst_value_get_structure(gst_value_array_get_value(viewers, 0));
  fail_unless(gst_structure_has_name(entry, "mjpeghttpsink-viewer"));
  const std::string address = "127.0.0.1:" + std::to_string(viewer.local_port());
  fail_unless_equals_string(gst_structure_get_string(entry, "address"), address.c_str());
  fail_unless_equals_string(gst_structure_get_string(entry, "user-agent"), "element-test-raw");
  GDateTime *since =
      g_date_time_new_from_iso8601(gst_structure_get_string(entry, "connected-since"), nullptr);
  fail_unless(since != nullptr, "connected-since is not ISO 8601");
  g_date_time_unref(since);
  guint64 sent = 0, bytes = 0, id = 0;
  fail_unless(gst_structure_get_uint64(entry, "frames-sent", &sent));
  fail_unless_equals_uint64(sent, 2);
  fail_unless(gst_structure_get_uint64(entry, "bytes-sent", &bytes));
  fail_unless(gst_structure_get_uint64(entry, "id", &id) && id > 0);
  guint64 served = 0;
  fail_unless(gst_structure_get_uint64(stats, "bytes-served", &served));
  fail_unless_equals_uint64(bytes, served);
  // The application's view and the HTTP one agree.
  JsonDocument json(pipeline.port(), "/stats");
  fail_unless_equals_int(json.integer("bytes_served"), static_cast<gint64>(served));
  fail_unless_equals_int(JsonDocument::integer_of(json.viewer(viewer.local_port()), "id"),
                         static_cast<gint64>(id));
  gst_structure_free(stats);
}
GST_END_TEST;

GST_START_TEST(test_viewer_messages_on_the_bus) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  SinkPipeline pipeline;
  pipeline.start_serving(frames[0]);
  for (GstMessage *earlier : pipeline.take_messages(GST_MESSAGE_ELEMENT))
    gst_message_unref(earlier);

  auto viewer = std::make_unique<RawViewer>(pipeline.port());
  fail_unless(viewer->streaming());
  const std::string address = "127.0.0.1:" + std::to_string(viewer->local_port());
  GstMessage *added = pipeline.await_message(GST_MESSAGE_ELEMENT, kAwaitMs);
  fail_unless(added != nullptr, "no element message for the new viewer");
  fail_unless(GST_MESSAGE_SRC(added) == GST_OBJECT(pipeline.sink()));
  const GstStructure *details = gst_message_get_structure(added);
  fail_unless_equals_string(gst_structure_get_name(details), "mjpeghttpsink-client-added");
  fail_unless_equals_string(gst_structure_get_string(details, "address"), address.c_str());
  fail_unless_equals_string(gst_structure_get_string(details, "user-agent"), "element-test-raw");
  guint64 id = 0;
  fail_unless(gst_structure_get_uint64(details, "id", &id) && id > 0);
  gst_message_unref(added);

  viewer->leave();
  GstMessage *removed = nullptr;
  fail_unless(pipeline.pump_frames_until(frames[0],
                                         [&] {
                                           // Called repeatedly: a message popped once must not be
                                           // lost.
                                           if (!removed)
                                             removed =
                                                 pipeline.await_message(GST_MESSAGE_ELEMENT, 1);
                                           return removed != nullptr;
                                         }),
              "no element message after the viewer left; num-clients %u", pipeline.num_clients());
  details = gst_message_get_structure(removed);
  fail_unless_equals_string(gst_structure_get_name(details), "mjpeghttpsink-client-removed");
  fail_unless_equals_string(gst_structure_get_string(details, "address"), address.c_str());
  guint64 removed_id = 0;
  fail_unless(gst_structure_get_uint64(details, "id", &removed_id));
  fail_unless_equals_uint64(removed_id, id);
  gst_message_unref(removed);
}
GST_END_TEST;

GST_START_TEST(test_metrics_parse_and_match_stats) {
  const std::vector<Bytes> frames = distinct_jpegs(3);
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  for (const Bytes &frame : frames) fail_unless(pipeline.push_jpeg(frame));
  fail_unless(pipeline.push_and_await(buffer_from_bytes(not_a_jpeg()), "frames-rejected"));
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.await_parts(1));
  fail_unless(await_condition([&] { return pipeline.stat("frames-sent") == 1; }));

  Exposition metrics = fetch_metrics(pipeline.port());
  // Every sample is declared, labelled with the element and its mount,
  // counters end in _total, and each family has one sample.
  for (const Sample &sample : metrics.samples) {
    fail_unless(sample.name.rfind("mjpeghttpsink_", 0) == 0, "%s", sample.name.c_str());
    fail_unless(metrics.types.count(sample.name), "%s has no TYPE", sample.name.c_str());
    fail_unless(metrics.help.count(sample.name), "%s has no HELP", sample.name.c_str());
    const std::string &type = metrics.types.at(sample.name);
    const bool total =
        sample.name.size() > 6 && sample.name.compare(sample.name.size() - 6, 6, "_total") == 0;
    fail_unless(total == (type == "counter"), "%s is a %s", sample.name.c_str(), type.c_str());
    // Only the viewers that left are split further, by why they left.
    const bool by_reason = sample.name == "mjpeghttpsink_viewers_left_total";
    fail_unless_equals_int(sample.labels.size(), by_reason ? 3 : 2);
    fail_unless_equals_string(sample.labels.at("element").c_str(), "sink");
    fail_unless_equals_string(sample.labels.at("mount").c_str(), "/");
  }
  // One sample per family, and one per reason a running server counts.
  fail_unless_equals_int(metrics.samples.size(), metrics.types.size() - 1 + 5);

  JsonDocument stats(pipeline.port(), "/stats");
  const std::pair<const char *, const char *> same[] = {
      {"mjpeghttpsink_frames_in_total", "frames_in"},
      {"mjpeghttpsink_frames_rejected_total", "frames_rejected"},
      {"mjpeghttpsink_frames_published_total", "frames_published"},
      {"mjpeghttpsink_frames_overflowed_total", "frames_overflowed"},
      {"mjpeghttpsink_frames_sent_total", "frames_sent"},
      {"mjpeghttpsink_frames_dropped_total", "frames_dropped"},
      {"mjpeghttpsink_bytes_served_total", "bytes_served"},
      {"mjpeghttpsink_viewers_total", "viewers_total"},
      {"mjpeghttpsink_viewers", "viewers_now"},
  };
  for (const auto &pair : same) {
    const Sample *sample = metrics.find(pair.first);
    fail_unless(sample != nullptr, "no %s", pair.first);
    fail_unless(sample->value == static_cast<double>(stats.integer(pair.second)),
                "%s = %g but %s = %" G_GINT64_FORMAT, pair.first, sample->value, pair.second,
                stats.integer(pair.second));
  }
  fail_unless_equals_int(metrics.find("mjpeghttpsink_frames_in_total")->value, 4);
  fail_unless_equals_int(metrics.find("mjpeghttpsink_viewers")->value, 1);
  fail_unless(metrics.find("mjpeghttpsink_uptime_seconds")->value > 0);
}
GST_END_TEST;

// The element name is free text; the label must stay parseable whatever it is.
GST_START_TEST(test_metrics_label_escapes_the_element_name) {
  const char *name = "cam \"front\"\\1";
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", name);
  fail_unless(sink != nullptr);
  g_object_set(sink, "port", 0, nullptr);
  // The server runs from READY->PAUSED; a sink alone never prerolls, which
  // does not matter here.
  fail_if(gst_element_set_state(sink, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
  gint port = 0;
  g_object_get(sink, "current-port", &port, nullptr);
  fail_unless(port > 0);
  Exposition metrics = fetch_metrics(port);
  fail_if(metrics.samples.empty());
  for (const Sample &sample : metrics.samples)
    fail_unless_equals_string(sample.labels.at("element").c_str(), name);
  gst_element_set_state(sink, GST_STATE_NULL);
  gst_object_unref(sink);
}
GST_END_TEST;

GST_START_TEST(test_stats_and_metrics_paths_follow_properties) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "stats-path", "/status.json", "metrics-path", "/prom", nullptr);
  fail_unless(pipeline.play());
  JsonDocument stats(pipeline.port(), "/status.json");
  fail_unless_equals_int(stats.integer("frames_in"), 0);
  fail_unless_equals_int(stats.viewer_count(), 0);
  fail_if(fetch_metrics(pipeline.port(), "/prom").samples.empty());
  fail_unless_equals_int(http_exchange(pipeline.port(), "GET", "/stats").status, 404);
  fail_unless_equals_int(http_exchange(pipeline.port(), "GET", "/metrics").status, 404);
  HttpResponse head = http_exchange(pipeline.port(), "HEAD", "/status.json");
  fail_unless_equals_int(head.status, 200);
  fail_unless(head.body.empty());
  fail_unless_equals_int(http_exchange(pipeline.port(), "POST", "/prom").status, 405);
}
GST_END_TEST;

GST_START_TEST(test_clashing_paths_fail_to_start) {
  GstElement *sink = gst_element_factory_make("mjpeghttpsink", nullptr);
  fail_unless(sink != nullptr);
  g_object_set(sink, "port", 0, "metrics-path", "/stream", nullptr);
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  g_object_set(sink, "metrics-path", "/metrics", "stats-path", "/", nullptr);
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  g_object_set(sink, "stats-path", "stats", nullptr);
  fail_unless_equals_int(gst_element_set_state(sink, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(sink, GST_STATE_NULL);
  gst_object_unref(sink);
}
GST_END_TEST;

static Suite *observe_suite() {
  return test_support::single_case_suite(
      "observe_stats", "stats",
      {NAMED_TEST(test_stats_json_counts_frames_and_viewers),
       NAMED_TEST(test_stats_fps_follows_the_send_rate),
       NAMED_TEST(test_stalled_viewer_drops_show_and_do_not_block_stats),
       NAMED_TEST(test_get_stats_lists_viewers), NAMED_TEST(test_viewer_messages_on_the_bus),
       NAMED_TEST(test_metrics_parse_and_match_stats),
       NAMED_TEST(test_metrics_label_escapes_the_element_name),
       NAMED_TEST(test_stats_and_metrics_paths_follow_properties),
       NAMED_TEST(test_clashing_paths_fail_to_start)},
      60);
}

GST_CHECK_MAIN(observe)
