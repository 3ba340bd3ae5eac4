// SPDX-License-Identifier: LGPL-2.1-or-later
// Why each viewer left, produced for real (a viewer that closes, one that
// stops reading, the disconnect policy, EOS, an element stopping alone or
// beside another on the same port) and read back from every place the
// element reports it: the client-removed bus message, the client-removed and
// client-removed-with-reason signals, /stats, /metrics, get-stats and the
// level of its line in the debug log.
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "await.h"
#include "check_suite.h"
#include "exposition.h"
#include "observe_documents.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;
using namespace observe_test;

namespace {

// The reasons a running server counts in /stats, /metrics and get-stats.
const char *const kCountedReasons[] = {"closed", "write-error", "timeout", "queue-disconnect",
                                       "eos"};

std::string address_of(int local_port) { return "127.0.0.1:" + std::to_string(local_port); }

// Every client-removed and client-removed-with-reason emission of one sink,
// recorded from the viewer threads that emit them. Create it before the
// sink starts and let the sink stop (joining those threads) before it goes.
class RemovalRecorder {
 public:
  explicit RemovalRecorder(GstElement *sink) : sink_(GST_ELEMENT(gst_object_ref(sink))) {
    // A handler written before reasons existed: the address alone.
    handlers_.push_back(g_signal_connect(sink, "client-removed", G_CALLBACK(on_removed), this));
    handlers_.push_back(g_signal_connect(sink, "client-removed-with-reason",
                                         G_CALLBACK(on_removed_with_reason), this));
    reason_class_ = G_ENUM_CLASS(g_type_class_ref(g_type_from_name("GstMjpegHttpSinkLeaveReason")));
    fail_unless(reason_class_ != nullptr, "no GstMjpegHttpSinkLeaveReason type");
  }
  ~RemovalRecorder() {
    for (gulong id : handlers_) g_signal_handler_disconnect(sink_, id);
    for (auto &watch : detail_watches_) delete watch.second;
    g_type_class_unref(reason_class_);
    gst_object_unref(sink_);
  }
  RemovalRecorder(const RemovalRecorder &) = delete;
  RemovalRecorder &operator=(const RemovalRecorder &) = delete;

  // Counts the emissions a handler connected to "client-removed-with-reason::
  // `nick`" alone receives.
  void watch_detail(const std::string &nick) {
    auto *watch = new DetailWatch{this, nick};
    detail_watches_[nick] = watch;
    const std::string signal = "client-removed-with-reason::" + nick;
    handlers_.push_back(g_signal_connect(sink_, signal.c_str(), G_CALLBACK(on_detailed), watch));
  }

  // True once both signals were emitted for `address`.
  bool has(const std::string &address) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return removed_.count(address) && reasons_.count(address);
  }
  // How many times client-removed named `address`.
  int removed_count(const std::string &address) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = removed_.find(address);
    return found == removed_.end() ? 0 : found->second;
  }
  // The nick client-removed-with-reason gave for `address`, or "".
  std::string reason(const std::string &address) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = reasons_.find(address);
    return found == reasons_.end() ? "" : found->second;
  }
  int detail_count(const std::string &nick) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = detail_counts_.find(nick);
    return found == detail_counts_.end() ? 0 : found->second;
  }

 private:
  struct DetailWatch {
    RemovalRecorder *recorder;
    std::string nick;
  };

  static void on_removed(GstElement *, const gchar *address, gpointer data) {
    auto *self = static_cast<RemovalRecorder *>(data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->removed_[address]++;
  }
  static void on_removed_with_reason(GstElement *, const gchar *address, gint reason,
                                     gpointer data) {
    auto *self = static_cast<RemovalRecorder *>(data);
    GEnumValue *value = g_enum_get_value(self->reason_class_, reason);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->reasons_[address] = value ? value->value_nick : "(not a reason)";
  }
  static void on_detailed(GstElement *, const gchar *, gint, gpointer data) {
    auto *watch = static_cast<DetailWatch *>(data);
    std::lock_guard<std::mutex> lock(watch->recorder->mutex_);
    watch->recorder->detail_counts_[watch->nick]++;
  }

  GstElement *sink_;
  GEnumClass *reason_class_ = nullptr;
  std::vector<gulong> handlers_;
  std::map<std::string, DetailWatch *> detail_watches_;
  mutable std::mutex mutex_;
  std::map<std::string, int> removed_;
  std::map<std::string, std::string> reasons_;
  std::map<std::string, int> detail_counts_;
};

// What the element writes to its debug category, kept so a test can check
// the level a line was logged at.
class DebugLogCapture {
 public:
  DebugLogCapture() {
    gst_debug_set_threshold_for_name("mjpeghttpsink", GST_LEVEL_DEBUG);
    gst_debug_add_log_function(&DebugLogCapture::on_log, this, nullptr);
  }
  ~DebugLogCapture() { gst_debug_remove_log_function_by_data(this); }
  DebugLogCapture(const DebugLogCapture &) = delete;
  DebugLogCapture &operator=(const DebugLogCapture &) = delete;

  // The level of the first line containing `text`; GST_LEVEL_NONE if none.
  GstDebugLevel level_of(const std::string &text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto &line : lines_)
      if (line.second.find(text) != std::string::npos) return line.first;
    return GST_LEVEL_NONE;
  }

 private:
  static void on_log(GstDebugCategory *category, GstDebugLevel level, const gchar *, const gchar *,
                     gint, GObject *, GstDebugMessage *message, gpointer data) {
    if (g_strcmp0(gst_debug_category_get_name(category), "mjpeghttpsink") != 0) return;
    auto *self = static_cast<DebugLogCapture *>(data);
    const gchar *text = gst_debug_message_get(message);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->lines_.emplace_back(level, text ? text : "");
  }

  mutable std::mutex mutex_;
  std::vector<std::pair<GstDebugLevel, std::string>> lines_;
};

// The line saying why `address` left was logged at `level`: WARNING for
// what an operator must look at, DEBUG for routine departures.
void expect_logged(const DebugLogCapture &log, const std::string &address, const char *nick,
                   GstDebugLevel level) {
  const std::string line = address + " left: " + nick;
  const GstDebugLevel logged = log.level_of(line);
  fail_unless(logged == level, "'%s' logged at %s, not %s", line.c_str(),
              gst_debug_level_get_name(logged), gst_debug_level_get_name(level));
}

// The reason field of the mjpeghttpsink-client-removed message for
// `address` on `bus`; "" if none came in time. Other messages are dropped.
std::string await_removed_message(GstBus *bus, const std::string &address) {
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(kAwaitMs) * 1000;
  for (;;) {
    const gint64 left_us = deadline - g_get_monotonic_time();
    if (left_us <= 0) return "";
    GstMessage *message = gst_bus_timed_pop_filtered(
        bus, static_cast<GstClockTime>(left_us) * GST_USECOND, GST_MESSAGE_ELEMENT);
    if (!message) return "";
    const GstStructure *details = gst_message_get_structure(message);
    std::string reason;
    bool mine = gst_structure_has_name(details, "mjpeghttpsink-client-removed") &&
                g_strcmp0(gst_structure_get_string(details, "address"), address.c_str()) == 0;
    if (mine) {
      const gchar *field = gst_structure_get_string(details, "reason");
      reason = field ? field : "(no reason field)";
    }
    gst_message_unref(message);
    if (mine) return reason;
  }
}

std::string await_removed_message(GstElement *pipeline, const std::string &address) {
  GstBus *bus = gst_element_get_bus(pipeline);
  std::string reason = await_removed_message(bus, address);
  gst_object_unref(bus);
  return reason;
}

// The signals and the bus message agree that `address` left for `nick`, and
// the old client-removed signal came once as before.
void expect_reason_reported(const RemovalRecorder &removals, const std::string &message_reason,
                            const std::string &address, const char *nick) {
  fail_unless_equals_string(message_reason.c_str(), nick);
  fail_unless(await_condition([&] { return removals.has(address); }),
              "no client-removed signals for %s", address.c_str());
  fail_unless_equals_int(removals.removed_count(address), 1);
  const std::string signalled = removals.reason(address);
  fail_unless_equals_string(signalled.c_str(), nick);
}

gint64 left_in(JsonObject *document, const char *reason) {
  JsonObject *left = json_object_get_object_member(document, "viewers_left");
  fail_unless(left != nullptr, "no viewers_left object");
  fail_unless_equals_int(json_object_get_size(left), G_N_ELEMENTS(kCountedReasons));
  return JsonDocument::integer_of(left, reason);
}

// /stats (the server's figures and its one mount's), /metrics and
// get-stats all count one viewer that left for `nick` and none for any
// other reason, and every viewer ever served is either here or counted.
void expect_counted_once(GstElement *sink, int port, const char *nick) {
  JsonDocument stats(port, "/stats");
  JsonArray *streams = json_object_get_array_member(stats.root(), "streams");
  fail_unless(streams && json_array_get_length(streams) == 1, "no single mount in streams");
  JsonObject *mount = json_array_get_object_element(streams, 0);
  Exposition metrics = fetch_metrics(port);
  std::map<std::string, double> metric_by_reason;
  for (const Sample &sample : metrics.samples)
    if (sample.name == "mjpeghttpsink_viewers_left_total")
      metric_by_reason[sample.labels.at("reason")] = sample.value;
  fail_unless_equals_int(metric_by_reason.size(), G_N_ELEMENTS(kCountedReasons));
  GstStructure *stats_structure = nullptr;
  g_signal_emit_by_name(sink, "get-stats", &stats_structure);
  GstStructure *left = nullptr;
  fail_unless(
      gst_structure_get(stats_structure, "viewers-left", GST_TYPE_STRUCTURE, &left, nullptr));

  gint64 all_left = 0;
  for (const char *reason : kCountedReasons) {
    const gint64 expected = g_strcmp0(reason, nick) == 0 ? 1 : 0;
    fail_unless_equals_int(left_in(stats.root(), reason), expected);
    fail_unless_equals_int(left_in(mount, reason), expected);
    fail_unless(metric_by_reason.count(reason), "no viewers_left_total{reason=\"%s\"}", reason);
    fail_unless(metric_by_reason[reason] == static_cast<double>(expected),
                "viewers_left_total{reason=\"%s\"} is %g", reason, metric_by_reason[reason]);
    guint64 counted = 99;
    fail_unless(gst_structure_get_uint64(left, reason, &counted), "get-stats lacks %s", reason);
    fail_unless_equals_uint64(counted, static_cast<guint64>(expected));
    all_left += left_in(stats.root(), reason);
  }
  fail_unless_equals_int(stats.integer("viewers_total"), stats.integer("viewers_now") + all_left);
  gst_structure_free(left);
  gst_structure_free(stats_structure);
}

// A client that asks for the stream and then reads nothing more.
std::unique_ptr<RawSocket> open_stalled_viewer(int port) {
  auto stalled = std::make_unique<RawSocket>(port);
  fail_unless(stalled->ok());
  fail_unless(stalled->send_all("GET /stream HTTP/1.1\r\nHost: x\r\nUser-Agent: stalls\r\n\r\n"));
  HttpHead head;
  fail_unless(stalled->read_head(&head));
  fail_unless_equals_int(head.status, 200);
  return stalled;
}

}  // namespace

GST_START_TEST(test_viewer_that_closes_left_closed) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  DebugLogCapture log;
  SinkPipeline pipeline;
  RemovalRecorder removals(pipeline.sink());
  removals.watch_detail("closed");
  removals.watch_detail("timeout");
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(frames[0]));
  auto viewer = std::make_unique<RawViewer>(pipeline.port());
  fail_unless(viewer->streaming() && pipeline.await_num_clients(1));
  const std::string address = address_of(viewer->local_port());

  viewer->leave();
  // Noticed when a write fails: keep frames coming.
  fail_unless(pipeline.pump_frames_until(frames[0], [&] { return removals.has(address); }),
              "the viewer that closed was never removed");
  expect_reason_reported(removals, await_removed_message(pipeline.pipeline(), address), address,
                         "closed");
  // A handler connected to one reason's detail hears of that reason only.
  fail_unless_equals_int(removals.detail_count("closed"), 1);
  fail_unless_equals_int(removals.detail_count("timeout"), 0);
  expect_logged(log, address, "closed", GST_LEVEL_DEBUG);
  expect_counted_once(pipeline.sink(), pipeline.port(), "closed");
  pipeline.stop();
}
GST_END_TEST;

// A viewer that asks for the stream and then reads nothing, under the
// settings already on `pipeline`'s sink: frames pile up until it is cut off,
// and it must be for `nick`, logged at `level`.
void expect_stalled_viewer_left(SinkPipeline &pipeline, const char *nick, GstDebugLevel level) {
  // Large frames fill the socket buffers after a few parts.
  const std::vector<Bytes> frames = encode_jpegs(2, "snow", 640, 480);
  fail_unless_equals_int(frames.size(), 2);
  DebugLogCapture log;
  RemovalRecorder removals(pipeline.sink());
  removals.watch_detail(nick);
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(frames[0]));
  std::unique_ptr<RawSocket> stalled = open_stalled_viewer(pipeline.port());
  fail_unless(pipeline.await_num_clients(1));
  const std::string address = address_of(stalled->local_port());

  size_t turn = 0;
  fail_unless(pipeline.pump_frames_until(frames[++turn % 2], [&] { return removals.has(address); }),
              "the viewer that stopped reading was never cut off");
  expect_reason_reported(removals, await_removed_message(pipeline.pipeline(), address), address,
                         nick);
  fail_unless_equals_int(removals.detail_count(nick), 1);
  expect_logged(log, address, nick, level);
  expect_counted_once(pipeline.sink(), pipeline.port(), nick);
  pipeline.stop();
}

GST_START_TEST(test_viewer_that_stops_reading_left_timeout) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "client-timeout", 1u, nullptr);
  expect_stalled_viewer_left(pipeline, "timeout", GST_LEVEL_WARNING);
}
GST_END_TEST;

GST_START_TEST(test_disconnect_policy_left_queue_disconnect) {
  SinkPipeline pipeline;
  gst_util_set_object_arg(G_OBJECT(pipeline.sink()), "queue-policy", "disconnect");
  // The queue, not the timeout, must end it: a timeout far beyond the test.
  g_object_set(pipeline.sink(), "client-timeout", 60u, nullptr);
  expect_stalled_viewer_left(pipeline, "queue-disconnect", GST_LEVEL_WARNING);
}
GST_END_TEST;

GST_START_TEST(test_end_of_stream_left_eos) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  DebugLogCapture log;
  SinkPipeline pipeline;
  RemovalRecorder removals(pipeline.sink());
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(frames[0]));
  RawViewer viewer(pipeline.port());
  fail_unless(viewer.streaming() && pipeline.await_num_clients(1));
  const std::string address = address_of(viewer.local_port());

  pipeline.push_eos();
  fail_unless(viewer.await_end() == StreamEnd::kClosedAfterClose, "%s", viewer.detail().c_str());
  expect_reason_reported(removals, await_removed_message(pipeline.pipeline(), address), address,
                         "eos");
  expect_logged(log, address, "eos", GST_LEVEL_DEBUG);
  // After EOS the server still answers, with the stream's figures.
  expect_counted_once(pipeline.sink(), pipeline.port(), "eos");
  pipeline.stop();
}
GST_END_TEST;

// Two elements on one port: the first to stop takes only its mount away
// (its viewers leave mount-removed while the server serves the other); the
// last one stops the server (stopping). Neither is counted anywhere: the
// counters go with the engine that stopped, so the bus and the signals tell.
// Before that, a viewer that closes shows how a mount's count and the
// server's sum over mounts are kept apart.
GST_START_TEST(test_element_stop_left_mount_removed_then_stopping) {
  const std::vector<Bytes> frames = distinct_jpegs(1);
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "mount", "/cam1", nullptr);
  RemovalRecorder first_removals(pipeline.sink());
  // A shared server needs a port named by both elements (port=0 is never
  // shared).
  int port = 0;
  for (int attempt = 0; attempt < 5 && port == 0; attempt++) {
    g_object_set(pipeline.sink(), "port", free_port(), nullptr);
    if (pipeline.play())
      port = pipeline.port();
    else
      pipeline.stop();  // another process took the port meanwhile
  }
  fail_unless(port > 0, "no free port to share");
  fail_unless(pipeline.push_jpeg(frames[0]));

  GstElement *other = gst_element_factory_make("mjpeghttpsink", "other");
  fail_unless(other != nullptr);
  g_object_set(other, "port", port, "mount", "/cam2", nullptr);
  // A lone element has no bus of its own: give it one to read its messages.
  GstBus *other_bus = gst_bus_new();
  gst_element_set_bus(other, other_bus);
  auto second_removals = std::make_unique<RemovalRecorder>(other);
  // A lone sink never prerolls; its server runs all the same.
  fail_if(gst_element_set_state(other, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);

  RawViewer on_first(port, "/cam1/stream");
  RawViewer on_second(port, "/cam2/stream");
  fail_unless(on_first.streaming() && on_second.streaming());
  fail_unless(pipeline.await_num_clients(1));
  fail_unless(await_condition([&] { return sink_stat(other, "num-clients") == 1; }));
  const std::string first_address = address_of(on_first.local_port());
  const std::string second_address = address_of(on_second.local_port());

  // A viewer of /cam1 that closes is counted in /cam1's document and in the
  // server's, which sums the mounts; /cam2 counts none.
  auto closing = std::make_unique<RawViewer>(port, "/cam1/stream");
  fail_unless(closing->streaming() && pipeline.await_num_clients(2));
  const std::string closing_address = address_of(closing->local_port());
  closing->leave();
  fail_unless(
      pipeline.pump_frames_until(frames[0], [&] { return first_removals.has(closing_address); }),
      "the /cam1 viewer that closed was never removed");
  fail_unless_equals_int(left_in(JsonDocument(port, "/cam1/stats").root(), "closed"), 1);
  fail_unless_equals_int(left_in(JsonDocument(port, "/cam2/stats").root(), "closed"), 0);
  fail_unless_equals_int(left_in(JsonDocument(port, "/stats").root(), "closed"), 1);

  fail_unless(gst_element_set_state(pipeline.pipeline(), GST_STATE_READY) ==
              GST_STATE_CHANGE_SUCCESS);
  expect_reason_reported(first_removals, await_removed_message(pipeline.pipeline(), first_address),
                         first_address, "mount-removed");
  fail_unless(on_first.await_end() == StreamEnd::kClosedEarly, "%s", on_first.detail().c_str());
  // The server goes on for /cam2, whose viewer is still there.
  fail_unless_equals_int(http_exchange(port, "GET", "/cam2/stats").status, 200);
  fail_unless_equals_int(sink_stat(other, "num-clients"), 1);
  fail_unless_equals_int(second_removals->removed_count(second_address), 0);

  fail_unless(gst_element_set_state(other, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  expect_reason_reported(*second_removals, await_removed_message(other_bus, second_address),
                         second_address, "stopping");
  fail_unless(on_second.await_end() == StreamEnd::kClosedEarly, "%s", on_second.detail().c_str());
  second_removals.reset();
  gst_element_set_bus(other, nullptr);
  gst_object_unref(other_bus);
  gst_object_unref(other);
  pipeline.stop();
}
GST_END_TEST;

static Suite *leave_reasons_suite() {
  return test_support::single_case_suite(
      "observe_leave_reasons", "leave_reasons",
      {NAMED_TEST(test_viewer_that_closes_left_closed),
       NAMED_TEST(test_viewer_that_stops_reading_left_timeout),
       NAMED_TEST(test_disconnect_policy_left_queue_disconnect),
       NAMED_TEST(test_end_of_stream_left_eos),
       NAMED_TEST(test_element_stop_left_mount_removed_then_stopping)},
      60);
}

GST_CHECK_MAIN(leave_reasons)
